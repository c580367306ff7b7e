"""Live counts and the state-only stream of `ws/live/`, through the real ASGI application."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from sessions.live import ALL_GROUP, group_for_session

from . import live_bus as bus

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_running_sessions_counts_come_with_subscribe_and_follow_each_live_event():
    session = bus.make_session()  # running: its stored event_counts are written only at the end
    bus.add_events(session, range(1, 4))  # three errors

    async def body(communicator):
        first = await bus.subscribe(communicator, session)
        assert first["session_info"]["event_counts"] == {"error": 3}
        assert first["session_info"]["total_extraction_events"] == 3
        await bus.frames_until(communicator, lambda f: f["type"] == "events")  # the backlog

        layer = get_channel_layer()
        await layer.group_send(group_for_session(session.pk), bus.batch(session, [4, 5]))
        state = await bus.frames_until(communicator, lambda f: f["type"] == "state")
        assert state[-1]["session_info"]["event_counts"] == {"error": 3, "warning": 2}
        assert state[-1]["session_info"]["total_extraction_events"] == 5

        # The same events again (both groups, a retry): counted once.
        await layer.group_send(
            group_for_session(session.pk),
            bus.batch(session, [5], session_info={"status": "waiting_for_input"}),
        )
        state = await bus.frames_until(communicator, lambda f: f["type"] == "state")
        assert state[-1]["session_info"]["status"] == "waiting_for_input"
        assert state[-1]["session_info"]["total_extraction_events"] == 5

    bus.on_a_page(body)


def test_subscribe_all_without_events_gets_state_changes_only():
    session = bus.make_session()

    async def body(communicator):
        await bus.subscribe_all(communicator, events=False)
        layer = get_channel_layer()
        await layer.group_send(ALL_GROUP, bus.batch(session, [1, 2]))
        await layer.group_send(
            ALL_GROUP,
            bus.batch(
                session,
                [3],
                states=[{"state": "waiting_for_input", "timestamp": "2026-11-26T10:15:00Z"}],
                session_info={"status": "waiting_for_input"},
            ),
        )
        frame = await communicator.receive_json_from()
        assert frame["type"] == "state"
        assert frame["states"][0]["state"] == "waiting_for_input"
        assert frame["session_info"] == {"status": "waiting_for_input"}
        assert await communicator.receive_nothing(timeout=0.2)

    bus.on_a_page(body)


def test_the_taps_own_counts_replace_what_the_page_was_given_and_later_events_add_to_them():
    session = bus.make_session()
    bus.add_events(session, [1])  # stored; 2-4 were announced before this page subscribed

    async def body(communicator):
        first = await bus.subscribe(communicator, session)
        assert first["session_info"]["total_extraction_events"] == 1
        await bus.frames_until(communicator, lambda f: f["type"] == "events")

        layer = get_channel_layer()
        tap_counts = {"error": 4, "warning": 1}
        await layer.group_send(
            group_for_session(session.pk),
            bus.batch(session, [5], session_info={"event_counts": tap_counts}),
        )
        state = await bus.frames_until(communicator, lambda f: f["type"] == "state")
        assert state[-1]["session_info"]["event_counts"] == tap_counts
        assert state[-1]["session_info"]["total_extraction_events"] == 5

        await layer.group_send(group_for_session(session.pk), bus.batch(session, [6]))
        state = await bus.frames_until(communicator, lambda f: f["type"] == "state")
        assert state[-1]["session_info"]["event_counts"] == {"error": 4, "warning": 2}

    bus.on_a_page(body)
