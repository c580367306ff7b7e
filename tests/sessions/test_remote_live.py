"""A remote tap's events go out live once: from its own publisher, never again when stored.

The server stores a remote tap's batches (POST /api/ingest/batch) and announces nothing; the
tap's LivePublisher pushes the same events over /ws/ingest/ with its API token, as a local tap
does (docs/architecture.md, "The live bus").
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.test import Client

from sessions.live import ALL_GROUP
from sessions.models import ProcessSession
from tests.factories import make_token, make_user
from tests.security.conftest import start_daphne
from tests.security.ingest_batches import batch, event_row
from tests.security.websocket_clients import open_socket, session_cookie

from . import live_bus as bus
from .conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

CHILD_LINES = 40


def test_a_stored_remote_batch_is_not_announced_on_the_bus():
    token = make_token(make_user("tap-host", staff=True))

    async def body():
        layer = get_channel_layer()
        listener = await layer.new_channel()
        await layer.group_add(ALL_GROUP, listener)
        response = await sync_to_async(Client().post)(
            "/api/ingest/batch",
            json.dumps(batch(event_row(1), event_row(2))),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert (response.status_code, response.json()["stored"]) == (200, 2)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(listener), timeout=0.5)
        await layer.group_discard(ALL_GROUP, listener)

    bus.run(body)
    session = ProcessSession.objects.get(agent_name="far-away")
    assert sorted(session.events.values_list("seq", flat=True)) == [1, 2]


@pytest.fixture
def server(django_db_setup, tmp_path):
    daphne = start_daphne(tmp_path / "server")
    yield daphne
    daphne.stop()


def remote_tap(server, token: str, tmp_path) -> subprocess.Popen:
    """`tap --server --token` on a "host" whose database settings lead nowhere."""
    env = dict(server.env)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/no-such-dir/none.sqlite3"
    env["STREAMTAP_DATA_DIR"] = str(tmp_path / "remote-host")
    child = f"for i in range({CHILD_LINES}):\n    print(f'ERROR: remote failure {{i}}')\n"
    argv = ["tap", "--agent", "far-away", "--server", server.base_url, "--token", token]
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *argv, "--", sys.executable, "-c", child],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_a_remote_tap_shows_its_events_live_through_its_own_publisher(server, tmp_path):
    user = make_user("tap-host", staff=True)
    with open_socket(server, "/ws/live/", headers={"Cookie": session_cookie(user)}) as page:
        page.send(json.dumps({"action": "subscribe", "scope": "all"}))
        # Answered after the subscription is in (messages are handled in order).
        page.send(json.dumps({"action": "resync", "session": "none", "after_seq": 0}))
        assert json.loads(page.recv(timeout=10))["type"] == "error"
        tap = remote_tap(server, make_token(user), tmp_path)
        live: list[int] = []
        try:
            while sorted(set(live)) != list(range(1, CHILD_LINES + 1)):
                frame = json.loads(page.recv(timeout=60))
                if frame["type"] == "events":
                    assert frame["replay"] is False  # the all-sessions stream is live only
                    live += [event["seq"] for event in frame["events"]]
        finally:
            _, stderr = tap.communicate(timeout=120)
        assert tap.returncode == 0, stderr
    assert sorted(live) == list(range(1, CHILD_LINES + 1))  # each once
    session = ProcessSession.objects.get(agent_name="far-away")
    assert session.events.count() == CHILD_LINES
