"""The server end of the default live bus: taps push their frames here, we fan them out.

A tap is another process, and the default in-memory channel layer lives in the server, so taps
send over a websocket to ``/ws/ingest/`` (no broker to install). Frames are forwarded into the
``st.all`` and ``st.session.<pk>`` groups exactly as a tap with Redis would have sent them.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core import signing

from .live import ALL_GROUP, INGEST_SALT, group_for_session, split_frame
from .models import ProcessSession

MAX_FRAME_BYTES = 4 * 1024 * 1024

# The highest seq this server has forwarded per session. A browser subscribing in the window
# between an event's live frame and its database batch learns from it that something is on
# its way and resyncs until the batch lands (see LiveConsumer.subscribe_session).
LATEST_SEQ: dict[int, int] = {}
MAX_TRACKED_SESSIONS = 10_000
SIGNATURE_MAX_AGE = 300


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


@database_sync_to_async
def _token_user(key: str):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return None
    return token.user if token.user.is_active else None


@database_sync_to_async
def _session_pk(session_id: str) -> int | None:
    return ProcessSession.objects.filter(session_id=session_id).values_list("pk", flat=True).first()


class IngestConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        if not await self._authenticated():
            await self.close(code=4403)
            return
        self.session_pks: dict[str, int] = {}
        await self.accept()

    async def _authenticated(self) -> bool:
        signed = _header(self.scope, b"x-streamtap-ingest")
        if signed:
            try:
                signing.loads(signed, salt=INGEST_SALT, max_age=SIGNATURE_MAX_AGE)
                return True
            except signing.BadSignature:
                return False
        auth = _header(self.scope, b"authorization")
        if auth.startswith("Token "):
            user = await _token_user(auth[6:].strip())
            return user is not None
        return False

    async def receive(self, text_data=None, bytes_data=None):
        if not text_data or len(text_data) > MAX_FRAME_BYTES:
            return
        try:
            frame = json.loads(text_data)
        except json.JSONDecodeError:
            return
        if not isinstance(frame, dict) or frame.get("type") != "live.batch":
            return
        session_id = frame.get("session")
        if not isinstance(session_id, str):
            return
        pk = self.session_pks.get(session_id)
        if pk is None:
            pk = await _session_pk(session_id)
            if pk is None:
                return
            self.session_pks[session_id] = pk
        frame["session_pk"] = pk
        events = frame.get("events")
        if isinstance(events, list) and events:
            seqs = [e.get("seq") for e in events if isinstance(e, dict)]
            top = max((s for s in seqs if isinstance(s, int)), default=0)
            if top > LATEST_SEQ.get(pk, 0):
                if len(LATEST_SEQ) >= MAX_TRACKED_SESSIONS:
                    LATEST_SEQ.clear()
                LATEST_SEQ[pk] = top
        everyone, session_frame = split_frame(frame)
        await self.channel_layer.group_send(ALL_GROUP, everyone)
        await self.channel_layer.group_send(group_for_session(pk), session_frame)
