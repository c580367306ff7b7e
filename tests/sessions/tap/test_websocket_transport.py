"""WebsocketTransport against a real daphne: a busy moment's frame, bigger than the 1 MiB
daphne takes in one websocket message, reaches a viewer whole, and the tap's socket stays up;
frames a dropped connection swallowed are announced to the page once the session goes quiet."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from sessions.live import event_row_to_wire
from sessions.tap.publisher import (
    CONFIRM_AFTER_SECONDS,
    CONFIRM_TIMEOUT_SECONDS,
    LivePublisher,
    WebsocketTransport,
    ingest_auth_headers,
)
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


class Proxy:
    """A TCP relay in front of the server that can turn into a black hole: what the tap sends
    on the connections open at that moment vanishes, as on a network that dropped them without
    a word (the tap's socket still takes frames). New connections are relayed again."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.holes: set[socket.socket] = set()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.open += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if source not in self.holes:
                    target.sendall(data)
        except OSError:
            pass

    def black_hole(self) -> None:
        self.holes.update(self.open)

    def close(self) -> None:
        self.listener.close()
        for sock in self.open:
            sock.close()


def test_frames_a_dropped_connection_swallowed_are_announced_when_the_session_goes_quiet(daphne):
    session = make_session("quiet", status="running", exit_code=None)
    proxy = Proxy(daphne.port)
    viewer = Viewer(daphne, make_user("watcher", staff=True), session.session_id)
    transport = WebsocketTransport(f"http://127.0.0.1:{proxy.port}", ingest_auth_headers())
    publisher = LivePublisher(transport)
    publisher.start()
    try:
        publisher.set_session(session.session_id, session.pk, {"agent_name": "quiet"})
        publisher.events([tap_row(seq) for seq in (1, 2, 3)])
        assert [event["seq"] for event in viewer.next_events(timeout=15)] == [1, 2, 3]
        time.sleep(CONFIRM_AFTER_SECONDS + 0.5)  # confirmed: the server has them
        proxy.black_hole()
        # The last words before the program goes quiet: they reach no server.
        publisher.events([tap_row(seq) for seq in (4, 5, 6)])
        deadline = time.monotonic() + CONFIRM_AFTER_SECONDS + CONFIRM_TIMEOUT_SECONDS + 10
        announced, live = None, []
        while announced is None and time.monotonic() < deadline:
            frame = json.loads(viewer.socket.recv(timeout=deadline - time.monotonic()))
            if frame["type"] == "events":
                live += [event["seq"] for event in frame["events"]]
            elif (frame.get("session_info") or {}).get("last_seq") == 6:
                announced = frame
        assert announced is not None, "the page never learnt of seqs 4-6"
        assert live == []  # they were lost on the way: the page resyncs them from the database
    finally:
        publisher.close()
        viewer.close()
        proxy.close()
