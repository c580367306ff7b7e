"""A page that subscribes late learns which seqs went out live, whichever worker forwarded them.

The record of the highest announced seq is Django's cache alias "live": Redis when
STREAMTAP_REDIS_URL is set (every worker and a tap publishing straight into Redis share it),
the server process's memory otherwise. Real daphne processes and real websocket clients.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.cache import caches

from sessions.live import ANNOUNCED_CACHE
from sessions.tap.publisher import ChannelLayerTransport
from tests.factories import make_session, make_user
from tests.helpers import wait_for
from tests.security.conftest import start_daphne
from tests.security.websocket_clients import (
    event_wire,
    events_frame,
    local_tap_headers,
    open_socket,
    session_cookie,
)

from . import live_bus as bus

pytestmark = pytest.mark.django_db(transaction=True)

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="several servers share the record through Redis only"
)


@pytest.fixture(autouse=True)
def _no_announced_seqs():
    caches[ANNOUNCED_CACHE].clear()


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    """Two server processes on the same database (and Redis, when the run has it)."""
    started = [start_daphne(tmp_path_factory.mktemp(f"worker{n}")) for n in (1, 2)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def running(transactional_db):
    return make_session("codex", status="running", exit_code=None)


def announced_to_a_new_page(server, user, session_id: str) -> int:
    """What a page subscribing now is told: session_info.last_seq of its first frame."""
    with open_socket(server, "/ws/live/", headers={"Cookie": session_cookie(user)}) as socket:
        socket.send(
            json.dumps(
                {"action": "subscribe", "scope": "session", "session": session_id}
                | {"after_seq": 0, "after_oseq": 0}
            )
        )
        first = json.loads(socket.recv(timeout=10))
    assert first["type"] == "state", first
    return first["session_info"]["last_seq"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "page_on", ["the same server", pytest.param("another server", marks=needs_redis)]
)
def test_a_late_page_learns_the_seqs_a_tap_pushed_through_a_server(servers, running, page_on):
    viewer = make_user("watcher", staff=True)
    ingest, page_server = servers[0], servers[0 if page_on == "the same server" else 1]
    with open_socket(ingest, "/ws/ingest/", headers=local_tap_headers(ingest)) as tap:
        sid = running.session_id
        tap.send(events_frame(sid, *(event_wire(sid, seq) for seq in (1, 2, 3))))
        # Nothing of it is in the database: the page resyncs until the batch lands.
        assert wait_for(
            lambda: announced_to_a_new_page(page_server, viewer, sid) == 3,
            timeout=20,
            what="last_seq 3 on a new page",
        )
    assert not running.events.exists()


def publish_into_the_layer(session, seqs) -> None:
    """What a tap configured with Redis does: its ChannelLayerTransport sends the frame."""
    transport = ChannelLayerTransport()
    transport.open()
    try:
        assert transport.send(bus.batch(session, seqs))
    finally:
        transport.close()


def test_a_tap_publishing_straight_into_the_layer_tells_late_pages_with_no_ingest_consumer():
    """The tap's ChannelLayerTransport (Redis in production) writes the record itself."""
    session = bus.make_session()
    publish_into_the_layer(session, [1, 2, 3, 4])

    async def body(communicator):
        first = await bus.subscribe(communicator, session)
        assert first["session_info"]["last_seq"] == 4

    bus.on_a_page(body)


@pytest.mark.slow
@needs_redis
def test_the_record_a_tap_wrote_into_redis_reaches_a_page_on_a_server_process(servers, running):
    publish_into_the_layer(running, [1, 2, 3, 4, 5])
    viewer = make_user("watcher", staff=True)
    assert announced_to_a_new_page(servers[1], viewer, running.session_id) == 5
