"""The browser websocket `ws/live/`, driven through the real ASGI application."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from sessions.consumers import CLOSE_TOO_BIG, CLOSE_TOO_MANY, CLOSE_UNAUTHENTICATED
from sessions.live import ALL_GROUP, group_for_session
from streamtap_site.asgi import application

from .live_bus import (
    HOST,
    add_events,
    batch,
    frames_until,
    login_cookie,
    make_session,
    on_a_page,
    run,
    seqs_of,
    subscribe,
    subscribe_all,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_user_is_closed_with_4401():
    async def body(communicator):
        output = await communicator.receive_output(timeout=1)
        assert output == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}

    on_a_page(body, logged_in=False)


def test_foreign_origin_is_refused():
    cookie = login_cookie()

    async def body():
        communicator = WebsocketCommunicator(
            application,
            "/ws/live/",
            headers=[(b"origin", b"http://evil.example"), HOST, (b"cookie", cookie)],
        )
        connected, _ = await communicator.connect()
        assert not connected

    run(body)


def test_subscribe_session_sends_backlog_after_seq_in_pages():
    session = make_session()
    add_events(session, range(1, 1203))

    async def body(communicator):
        state = await subscribe(communicator, session, after_seq=100)
        assert state["type"] == "state"
        assert state["session_info"]["status"] == "running"
        frames = await frames_until(communicator, lambda f: seqs_of([f])[-1:] == [1202])
        assert all(f["replay"] for f in frames)
        assert max(len(f["events"]) for f in frames) <= 500
        assert seqs_of(frames) == list(range(101, 1203))
        assert frames[0]["events"][0]["content"] == "error number 101"
        assert frames[0]["session"] == session.session_id

    on_a_page(body)


def test_live_batches_are_forwarded_as_events_state_and_output_frames():
    session = make_session()

    async def body(communicator):
        await subscribe(communicator, session)  # initial state
        layer = get_channel_layer()
        await layer.group_send(
            group_for_session(session.pk),
            batch(
                session,
                [1],
                states=[
                    {
                        "state": "waiting_for_input",
                        "timestamp": "2026-11-26T10:15:00Z",
                        "metadata": {},
                    }
                ],
                output=[[1, 0.5, "hello <script>alert(1)</script>\r\n"]],
                session_info={"status": "waiting_for_input", "last_seq": 1},
            ),
        )
        frames = [await communicator.receive_json_from() for _ in range(3)]
        by_type = {f["type"]: f for f in frames}
        assert by_type["events"]["events"][0]["content"] == "live 1"
        assert by_type["events"]["replay"] is False
        assert by_type["state"]["states"][0]["state"] == "waiting_for_input"
        assert by_type["state"]["session_info"]["status"] == "waiting_for_input"
        assert by_type["output"]["chunks"] == [[1, 0.5, "hello <script>alert(1)</script>\r\n"]]

    on_a_page(body)


def test_subscribe_all_gets_every_session_but_no_output():
    one, two = make_session("a-1"), make_session("b-2")

    async def body(communicator):
        await subscribe_all(communicator)
        layer = get_channel_layer()
        for session in (one, two):
            await layer.group_send(ALL_GROUP, batch(session, [1], output=[[1, 0.1, "x"]]))
        frames = [await communicator.receive_json_from() for _ in range(2)]
        assert {f["session"] for f in frames} == {"a-1", "b-2"}
        assert all(f["type"] == "events" for f in frames)
        assert await communicator.receive_nothing(timeout=0.2)

    on_a_page(body)


def test_no_duplicates_across_backlog_and_live():
    session = make_session()
    add_events(session, range(1, 6))

    async def body(communicator):
        layer = get_channel_layer()
        # The state frame comes after joining the group and before the backlog, so this
        # batch is published while the backlog is read: 4 and 5 are in the database too.
        assert (await subscribe(communicator, session, after_oseq=3))["type"] == "state"
        await layer.group_send(
            group_for_session(session.pk),
            batch(session, (4, 5, 6), output=[[3, 0.1, "old"], [4, 0.2, "new"]]),
        )
        frames = await frames_until(communicator, lambda f: f["type"] == "output")
        assert seqs_of(frames) == [1, 2, 3, 4, 5, 6]
        assert frames[-1]["chunks"] == [[4, 0.2, "new"]]
        # The same batch again (a socket on both groups sees it twice) changes nothing.
        await layer.group_send(
            group_for_session(session.pk), batch(session, [6], output=[[4, 0.2, "new"]])
        )
        assert await communicator.receive_nothing(timeout=0.2)

    on_a_page(body)


def test_resync_replays_from_the_database_after_the_clients_seq():
    session = make_session()
    add_events(session, range(1, 11))

    async def body(communicator):
        await communicator.send_json_to(
            {"action": "resync", "session": session.session_id, "after_seq": 7}
        )
        frame = await communicator.receive_json_from()
        assert frame["type"] == "events" and frame["replay"] is True
        assert seqs_of([frame]) == [8, 9, 10]

    on_a_page(body)


def test_busy_sessions_are_coalesced_into_few_frames():
    session = make_session()

    async def body(communicator):
        await subscribe_all(communicator)
        layer = get_channel_layer()
        for seq in range(1, 51):
            await layer.group_send(ALL_GROUP, batch(session, [seq]))
        frames = await frames_until(communicator, lambda f: seqs_of([f])[-1:] == [50])
        assert seqs_of(frames) == list(range(1, 51))
        assert len(frames) < 10

    on_a_page(body)


def test_unknown_session_and_bad_json_get_error_frames_not_a_crash():
    async def body(communicator):
        await communicator.send_to(text_data="{not json")
        assert (await communicator.receive_json_from())["type"] == "error"
        await communicator.send_to(text_data="[1, 2]")
        assert (await communicator.receive_json_from())["type"] == "error"
        await communicator.send_json_to(
            {"action": "subscribe", "scope": "session", "session": "nope", "after_seq": 0}
        )
        assert "nope" in (await communicator.receive_json_from())["message"]
        await communicator.send_json_to({"action": "resync", "session": "x", "after_seq": -1})
        assert (await communicator.receive_json_from())["type"] == "error"
        await communicator.send_json_to({"action": "dance"})
        assert (await communicator.receive_json_from())["type"] == "error"
        # Still usable afterwards.
        await communicator.send_json_to({"action": "subscribe", "scope": "all"})
        assert await communicator.receive_nothing(timeout=0.1)

    on_a_page(body)


def test_oversized_message_closes_the_socket():
    async def body(communicator):
        await communicator.send_to(text_data=json.dumps({"action": "resync", "pad": "x" * 5000}))
        assert (await communicator.receive_json_from())["type"] == "error"
        output = await communicator.receive_output(timeout=1)
        assert output == {"type": "websocket.close", "code": CLOSE_TOO_BIG}

    on_a_page(body)


def test_flooding_client_is_closed():
    async def body(communicator):
        for _ in range(25):
            await communicator.send_json_to({"action": "subscribe", "scope": "all"})
        output = None
        for _ in range(30):
            output = await communicator.receive_output(timeout=1)
            if output["type"] == "websocket.close":
                break
        assert output == {"type": "websocket.close", "code": CLOSE_TOO_MANY}

    on_a_page(body)


@pytest.fixture(autouse=True)
def _fresh_layer():
    yield
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
