"""Shared pieces of the live bus tests: a logged-in page's socket on the real ASGI application,
live frames as a tap sends them, event rows, a transport that records a publisher's frames, and
a process of an installation on the real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from extraction.models import ExtractionEvent
from sessions.live import event_to_dict
from sessions.models import ProcessSession
from streamtap_site.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def run(coro_fn):
    """Run an async test body in one event loop (pytest-asyncio is not installed)."""
    return async_to_sync(coro_fn)()


def login_cookie() -> bytes:
    user = get_user_model().objects.create_user("watcher", password="x")
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def make_session(session_id: str = "codex-20261126-101500") -> ProcessSession:
    return ProcessSession.objects.create(session_id=session_id, agent_name="codex")


ERROR = {"event_type": "error", "rule": "python_traceback", "severity": "error"}
WARNING = {"event_type": "warning", "severity": "warning", "risk_level": "low"}


def unsaved_event(
    session: ProcessSession, seq: int, label: str = "error number", **fields
) -> ExtractionEvent:
    """An event row of the session on line ``seq`` (a medium-risk error unless ``fields`` say
    otherwise), not saved; its content is ``"<label> <seq>"``."""
    values = {**ERROR, "risk_level": "medium", "content": f"{label} {seq}", **fields}
    values.setdefault("line_start", seq)
    values.setdefault("line_end", seq)
    return ExtractionEvent(session=session, seq=seq, agent_name=session.agent_name, **values)


def add_events(session: ProcessSession, seqs, label="error number", **fields) -> list:
    return ExtractionEvent.objects.bulk_create(
        unsaved_event(session, seq, label, **fields) for seq in seqs
    )


def wire_event(session: ProcessSession, seq: int) -> dict:
    """A warning as a tap announces it live (not stored)."""
    event = unsaved_event(session, seq, "live", **WARNING, rule="deprecation")
    event.timestamp = timezone.now()
    return event_to_dict(event)


def batch(session: ProcessSession, events=(), **more) -> dict:
    """A `live.batch` of the session's live warnings with these seqs (and ``more`` keys)."""
    return {
        "type": "live.batch",
        "session": session.session_id,
        "session_pk": session.pk,
        "events": [wire_event(session, seq) for seq in events],
        **more,
    }


async def connect(cookie: bytes | None) -> WebsocketCommunicator:
    headers = [ORIGIN, HOST]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def on_a_page(body, *, logged_in: bool = True) -> None:
    """Run ``await body(communicator)`` on a page's socket (of a logged-in user, or of nobody),
    closed afterwards."""
    cookie = login_cookie() if logged_in else None

    async def page():
        communicator = await connect(cookie)
        await body(communicator)
        await communicator.disconnect()

    run(page)


async def subscribe(communicator, session: ProcessSession, after_seq=0, after_oseq=0) -> dict:
    """Subscribe to one session; the first frame (its state and session_info)."""
    await communicator.send_json_to(
        {
            "action": "subscribe",
            "scope": "session",
            "session": session.session_id,
            "after_seq": after_seq,
            "after_oseq": after_oseq,
        }
    )
    return await communicator.receive_json_from()


async def subscribe_all(communicator, **options) -> None:
    """Subscribe to every session and wait until the subscription is in: the consumer handles
    a socket's messages in order, so the error for a resync of no session comes after it."""
    await communicator.send_json_to({"action": "subscribe", "scope": "all", **options})
    await communicator.send_json_to({"action": "resync", "session": "", "after_seq": 0})
    answer = await communicator.receive_json_from(timeout=10)
    assert answer["type"] == "error", answer


async def frames_until(communicator, predicate, timeout: float = 10.0) -> list[dict]:
    """Collect frames until one satisfies predicate (inclusive)."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        frames.append(frame)
        if predicate(frame):
            return frames


def seqs_of(frames: list[dict]) -> list[int]:
    return [e["seq"] for f in frames if f["type"] == "events" for e in f["events"]]


# ---- the tap's end ----------------------------------------------------------------------------


def tap_row(seq: int, event_type: str = "error") -> dict:
    """An event row as the tap hands it to the writer and the publisher."""
    return {
        "seq": seq, "agent_name": "a", "event_type": event_type, "rule": "r", "severity": "error",
        "risk_level": "low", "auto_confirmable": False, "line_start": seq, "line_end": seq,
        "content": "boom", "context": "", "metadata": {}, "timestamp": datetime.now(tz=UTC),
        "offset_seconds": 0.1,
    }  # fmt: skip


class RecordingTransport:
    """The far end of a LivePublisher (the server's ingest socket), recording its frames."""

    def __init__(self):
        self.frames = []
        self.sent = threading.Condition()

    def open(self):
        pass

    def send(self, frame):
        with self.sent:
            self.frames.append(frame)
            self.sent.notify_all()
        return True

    def confirm(self, timeout):
        return True

    def close(self):
        pass

    def wait_for_frame(self, timeout: float = 10) -> bool:
        with self.sent:
            return self.sent.wait_for(lambda: self.frames, timeout=timeout)

    def wait_for_seq(self, seq: int) -> None:
        with self.sent:
            assert self.sent.wait_for(
                lambda: any(e["seq"] == seq for f in self.frames for e in f.get("events", ())),
                timeout=10,
            )


ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/7"


def run_in_an_installation(code: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """Python ``code`` in a process of its own, as an installation on the real Redis runs its
    servers and taps: its settings read there from ``env`` (STREAMTAP_REDIS_* only from it)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMTAP_REDIS")}
    child_env.update(
        DJANGO_SETTINGS_MODULE="streamtap_site.settings",
        STREAMTAP_DATA_DIR=str(data_dir),
        STREAMTAP_REDIS_URL=REDIS_URL,
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=child_env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
