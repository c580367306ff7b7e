"""Real websocket clients against the test daphne: a viewer's browser socket and a tap's."""

from __future__ import annotations

import json
import socket

from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from sessions.tap.publisher import ingest_auth_headers

from .ingest_batches import event_row


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def open_socket(
    server,
    path: str,
    *,
    origin: str | None = None,
    headers: dict | None = None,
    source: str = "127.0.0.1",
):
    """A websocket from the client address ``source`` (any 127.x address is this machine)."""
    sock = socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=(source, 0)
    )
    return connect(
        f"{server.ws_url}{path}",
        sock=sock,
        origin=origin if origin is not None else server.base_url,
        additional_headers=headers or {},
        open_timeout=10,
        close_timeout=2,
    )


def handshake_refused(server, path: str, **kwargs) -> bool:
    """True when the server refuses the socket at the handshake (HTTP 403)."""
    try:
        websocket = open_socket(server, path, **kwargs)
    except InvalidStatus as exc:
        return exc.response.status_code == 403
    websocket.close()
    return False


def local_tap_headers(server) -> dict:
    """What a tap on the server's machine sends: signed with the (shared) secret key."""
    return ingest_auth_headers()


def token_headers(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def event_wire(session_id: str, seq: int, content: str = "ERROR: boom") -> dict:
    """An event row as a tap publishes it live (sessions.live.event_row_to_wire)."""
    return {**event_row(seq, content=content), "session": session_id, "review_status": "pending"}


def events_frame(session_id: str, *events: dict) -> str:
    return json.dumps({"type": "live.batch", "session": session_id, "events": list(events)})


def close_code(socket, timeout: float = 10) -> int | None:
    """Wait for the server to close the socket; its close code (frames before it are skipped)."""
    try:
        while True:
            socket.recv(timeout=timeout)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


class Viewer:
    """A logged-in page's live socket subscribed to one session."""

    def __init__(self, server, user, session_id: str):
        self.socket = open_socket(server, "/ws/live/", headers={"Cookie": session_cookie(user)})
        self.session_id = session_id
        self.socket.send(
            json.dumps(
                {"action": "subscribe", "scope": "session", "session": session_id}
                | {"after_seq": 0, "after_oseq": 0}
            )
        )
        first = json.loads(self.socket.recv(timeout=10))
        assert first["type"] == "state", first  # subscribed: live frames reach us from here on

    def next_events(self, timeout: float = 10) -> list[dict]:
        """The events of the next events frame (skips other frames)."""
        while True:
            frame = json.loads(self.socket.recv(timeout=timeout))
            if frame["type"] == "events":
                return frame["events"]

    def close(self) -> None:
        self.socket.close()
