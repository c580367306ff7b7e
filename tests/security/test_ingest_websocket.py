"""Row 3 (and 10 for websockets) of issue 15: who may push to /ws/ingest/ and what reaches viewers.

Attacked as it was: real daphne, real websocket clients, a viewer logged in with a cookie.
"""

from __future__ import annotations

import json

import pytest

from sessions.ingest import CLOSE_BAD_FRAME, CLOSE_NOT_YOURS
from tests.factories import make_session, make_user

from .websocket_clients import (
    Viewer,
    close_code,
    event_wire,
    events_frame,
    handshake_refused,
    local_tap_headers,
    open_socket,
    token_headers,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def running(transactional_db):
    return make_session("codex", status="running", exit_code=None)


@pytest.fixture
def viewer(daphne, running):
    viewer = Viewer(daphne, make_user("watcher", staff=True), running.session_id)
    yield viewer
    viewer.close()


def test_a_token_without_the_ingest_permission_is_refused(daphne, plain_token, tap_token):
    assert handshake_refused(daphne, "/ws/ingest/", headers=token_headers(plain_token))
    assert handshake_refused(daphne, "/ws/ingest/", headers=token_headers("0" * 40))
    assert handshake_refused(daphne, "/ws/ingest/")
    # The same permission as POST /api/ingest/batch lets a tap in, and so does the local tap.
    assert not handshake_refused(daphne, "/ws/ingest/", headers=token_headers(tap_token))
    assert not handshake_refused(daphne, "/ws/ingest/", headers=local_tap_headers(daphne))


def test_staff_tokens_may_ingest(daphne, transactional_db):
    from tests.factories import make_token

    staff = make_token(make_user("rey", staff=True))
    assert not handshake_refused(daphne, "/ws/ingest/", headers=token_headers(staff))


@pytest.mark.parametrize(
    "bad_frame",
    [
        pytest.param(lambda sid: events_frame(sid, {**event_wire(sid, 1), "seq": "abc"}), id="seq"),
        pytest.param(lambda sid: events_frame(sid, {**event_wire(sid, 1), "seq": 0}), id="seq0"),
        pytest.param(lambda sid: events_frame(sid, {"seq": 3}), id="half-event"),
        pytest.param(
            lambda sid: json.dumps({"type": "live.batch", "session": sid, "output": [["x"]]}),
            id="output",
        ),
        pytest.param(
            lambda sid: json.dumps(
                {"type": "live.batch", "session": sid, "states": [{"state": {"x": 1}}]}
            ),
            id="state",
        ),
        pytest.param(lambda sid: "[" * 600 + "]" * 600, id="nested-600"),
        pytest.param(lambda sid: "not json", id="not-json"),
    ],
)
def test_a_bad_frame_closes_only_its_sender(daphne, running, viewer, tap_token, bad_frame):
    sid = running.session_id
    attacker = open_socket(daphne, "/ws/ingest/", headers=token_headers(tap_token))
    attacker.send(bad_frame(sid))
    assert close_code(attacker) == CLOSE_BAD_FRAME
    # The viewer's socket is still open and still gets what the real tap sends.
    with open_socket(daphne, "/ws/ingest/", headers=local_tap_headers(daphne)) as tap:
        tap.send(events_frame(sid, event_wire(sid, 1, "ERROR: the real one")))
        [event] = viewer.next_events()
    assert (event["seq"], event["content"]) == (1, "ERROR: the real one")


def test_a_fake_seq_from_another_socket_cannot_hide_the_real_events(
    daphne, running, viewer, tap_token
):
    sid = running.session_id
    with open_socket(daphne, "/ws/ingest/", headers=local_tap_headers(daphne)) as tap:
        tap.send(events_frame(sid, event_wire(sid, 1, "ERROR: first")))
        assert [e["seq"] for e in viewer.next_events()] == [1]
        # Another client allowed to ingest claims seq 2**31-1 for the same session.
        attacker = open_socket(daphne, "/ws/ingest/", headers=token_headers(tap_token))
        attacker.send(events_frame(sid, event_wire(sid, 2**31 - 1, "ERROR: fake")))
        assert close_code(attacker) == CLOSE_NOT_YOURS
        tap.send(events_frame(sid, event_wire(sid, 2, "ERROR: second")))
        [event] = viewer.next_events()
    assert (event["seq"], event["content"]) == (2, "ERROR: second")


def test_only_the_taps_own_key_takes_its_session_over_from_a_silent_socket(
    daphne, running, viewer, tap_token
):
    """A tap whose connection dropped without a close the server heard of connects again
    with its publisher key and goes on; a socket with another key (or none) cannot."""
    sid = running.session_id
    mine = {**local_tap_headers(daphne), "X-Streamtap-Publisher": "key-of-this-tap"}
    stale = open_socket(daphne, "/ws/ingest/", headers=mine)
    try:
        stale.send(events_frame(sid, event_wire(sid, 1, "ERROR: before the drop")))
        assert [e["seq"] for e in viewer.next_events()] == [1]
        # The old socket stays open on the server's side (a half-open connection).
        for headers in (
            {**token_headers(tap_token), "X-Streamtap-Publisher": "guessed"},
            token_headers(tap_token),
        ):
            attacker = open_socket(daphne, "/ws/ingest/", headers=headers)
            attacker.send(events_frame(sid, event_wire(sid, 2**31 - 1, "ERROR: fake")))
            assert close_code(attacker) == CLOSE_NOT_YOURS
        with open_socket(daphne, "/ws/ingest/", headers=mine) as again:
            again.send(events_frame(sid, event_wire(sid, 2, "ERROR: after the drop")))
            [event] = viewer.next_events()
            assert (event["seq"], event["content"]) == (2, "ERROR: after the drop")
            # What the dead socket still delivers is refused now.
            stale.send(events_frame(sid, event_wire(sid, 3, "ERROR: late")))
            assert close_code(stale) == CLOSE_NOT_YOURS
    finally:
        stale.close()


def test_viewers_get_the_validated_values_only(daphne, running, viewer):
    sid = running.session_id
    sneaky = {**event_wire(sid, 7), "seq": "7", "extra_html": "<script>x</script>"}
    with open_socket(daphne, "/ws/ingest/", headers=local_tap_headers(daphne)) as tap:
        tap.send(events_frame(sid, sneaky))
        [event] = viewer.next_events()
    assert event["seq"] == 7  # a number, as every viewer expects
    assert "extra_html" not in event
