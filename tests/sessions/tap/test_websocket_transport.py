"""WebsocketTransport against a real daphne: a busy moment's frame, bigger than the 1 MiB
daphne takes in one websocket message, reaches a viewer whole, and the tap's socket stays up."""

from __future__ import annotations

import json

import pytest

from sessions.live import event_row_to_wire
from sessions.tap.publisher import WebsocketTransport, ingest_auth_headers
from tests.factories import make_session, make_user
from tests.security.conftest import start_daphne
from tests.security.websocket_clients import Viewer
from tests.sessions.live_bus import tap_row

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EVENTS = 3000


@pytest.fixture
def daphne(django_db_setup, tmp_path):
    server = start_daphne(tmp_path / "server")
    yield server
    server.stop()


def wire_events(session_id: str, seqs) -> list[dict]:
    return [
        event_row_to_wire({**tap_row(seq), "content": f"ERROR: {seq} " + "x" * 400}, session_id)
        for seq in seqs
    ]


def test_a_frame_over_a_mebibyte_reaches_the_viewer_whole_and_the_socket_stays_up(daphne):
    session = make_session("flood", status="running", exit_code=None)
    frame = {
        "type": "live.batch",
        "session": session.session_id,
        "session_pk": session.pk,
        "events": wire_events(session.session_id, range(1, EVENTS + 1)),
        "session_info": {"last_seq": EVENTS},
    }
    assert len(json.dumps(frame)) > 1024 * 1024
    viewer = Viewer(daphne, make_user("watcher", staff=True), session.session_id)
    transport = WebsocketTransport(daphne.base_url, ingest_auth_headers())
    try:
        transport.open()
        assert transport.send(frame)
        seen: list[int] = []
        while len(seen) < EVENTS:
            seen += [event["seq"] for event in viewer.next_events(timeout=30)]
        assert seen == list(range(1, EVENTS + 1))
        # The same socket carries the next frame: the server did not drop it.
        more = {**frame, "events": wire_events(session.session_id, [EVENTS + 1])}
        assert transport.send(more)
        assert [event["seq"] for event in viewer.next_events(timeout=30)] == [EVENTS + 1]
    finally:
        transport.close()
        viewer.close()
