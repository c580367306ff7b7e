"""Issue 15 row 1, the live side: a secret printed with a pause inside it reaches no viewer.

A real daphne, a real `tap` and a logged-in websocket client subscribed to the session (as the
session page is): every frame it receives is checked for any part of the secrets.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest
import websockets

from tests.helpers import run_async

from .helpers import last_session_pk, start_tap, wait_for_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OPENAI_KEY = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
SPLIT = [
    ("ERROR: key sk-proj-A1b2C3d4", OPENAI_KEY[16:] + " done\n"),
    ("ERROR: db postgres://admin:hun", "ter2pw@db.example.com/app\n"),
    ("ERROR: API_KEY=", "zq9Xv7Lm3Np8Rt2Yw6\n"),
]
FRAGMENTS = ["A1b2C3d4", "E5f6G7h8", "hunter2pw", "ter2pw", "zq9Xv7Lm3Np8Rt2Yw6"]


def login_cookie(server) -> str:
    """A session cookie for the staff user, made the way Django's login makes one."""
    code = (
        "from django.conf import settings\n"
        "from django.contrib.auth import get_user_model\n"
        "from importlib import import_module\n"
        f"user = get_user_model().objects.get(username={server.username!r})\n"
        "store = import_module(settings.SESSION_ENGINE).SessionStore()\n"
        "store['_auth_user_id'] = str(user.pk)\n"
        "store['_auth_user_backend'] = 'django.contrib.auth.backends.ModelBackend'\n"
        "store['_auth_user_hash'] = user.get_session_auth_hash()\n"
        "store.create()\n"
        "print(f'{settings.SESSION_COOKIE_NAME}={store.session_key}')\n"
    )
    return server.shell(code).strip().splitlines()[-1]


def output_of(frames: list[str]) -> str:
    """The terminal output carried by the websocket frames, in order."""
    return "".join(
        chunk[2]
        for frame in map(json.loads, frames)
        if frame.get("type") == "output"
        for chunk in frame["chunks"]
    )


def test_no_part_of_a_paused_secret_reaches_a_live_viewer(live_server_proc, tmp_path):
    server = live_server_proc
    flag = tmp_path / "go"
    pieces = tmp_path / "pieces.json"
    pieces.write_text(json.dumps(SPLIT))
    child = (
        "import json, os, sys, time\n"
        "print('agent starting', flush=True)\n"
        "while not os.path.exists(sys.argv[2]): time.sleep(0.05)\n"
        "for head, rest in json.load(open(sys.argv[1])):\n"
        "    sys.stdout.write(head); sys.stdout.flush(); time.sleep(0.4)\n"
        "    sys.stdout.write(rest); sys.stdout.flush()\n"
        "print('all printed', flush=True)\n"
        "time.sleep(30)\n"
    )
    since = last_session_pk(server)
    tap = start_tap(server.env, "--pipe", "--", sys.executable, "-c", child, str(pieces), str(flag))
    try:
        session_id = wait_for_session(server, since_id=since)
        cookie = login_cookie(server)

        async def watch() -> list[str]:
            frames: list[str] = []
            async with websockets.connect(
                f"{server.ws_url}/ws/live/",
                origin=server.base_url,
                additional_headers={"Cookie": cookie},
            ) as ws:
                subscribe = {"action": "subscribe", "scope": "session", "session": session_id}
                await ws.send(json.dumps({**subscribe, "after_seq": 0, "after_oseq": 0}))
                frames.append(await asyncio.wait_for(ws.recv(), 15))  # the state frame
                flag.touch()
                deadline = time.monotonic() + 30
                while "all printed" not in output_of(frames) and time.monotonic() < deadline:
                    frames.append(await asyncio.wait_for(ws.recv(), 30))
            return frames

        frames = run_async(watch)
    finally:
        tap.kill()
        tap.wait()
    received = "".join(frames)
    output = output_of(frames)
    assert "all printed" in output, received[-2000:]
    assert "ERROR: key [REDACTED:openai_key] done" in output
    for fragment in FRAGMENTS:
        assert fragment not in received, fragment
