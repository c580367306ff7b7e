"""The server end of the default live bus: taps push their frames here, we fan them out.

A tap is another process, and the default in-memory channel layer lives in the server, so taps
send over a websocket to ``/ws/ingest/`` (no broker to install). Frames are forwarded into the
``st.all`` and ``st.session.<pk>`` groups exactly as a tap with Redis would have sent them.

Who may push: a tap on this machine (a header signed with this installation's secret key) or
a token allowed to ingest (the permission of ``POST /api/ingest/batch``). What: frames are
validated with the ingest API's serializers and re-built from the validated values, so a
viewer only ever gets well-formed frames. A bad frame closes the sender's socket, nobody
else's. One socket publishes a session at a time (the tap that runs it): another socket
cannot inject events or seqs into it, e.g. a high seq that would hide the real ones.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core import signing
from rest_framework import serializers

from extraction.event_shape import event_json
from streamtap_site.throttling import BadTokenThrottle

from .ingest_api import LiveEventSerializer, load_json, may_ingest
from .live import (
    ALL_GROUP,
    INGEST_SALT,
    group_for_session,
    note_announced,
    split_frame,
    top_seq,
)
from .models import ProcessSession, SessionStatus

MAX_FRAME_BYTES = 4 * 1024 * 1024

SIGNATURE_MAX_AGE = 300
# session pk -> (channel name of the socket publishing it, that tap's publisher key or "").
PUBLISHERS: dict[int, tuple[str, str]] = {}
# A tap names itself with a random key in this header (sessions/tap/publisher.py): when its
# connection drops without a close the server would hear of, the tap's next connection
# presents the same key and takes its session over, while any other socket stays refused.
PUBLISHER_HEADER = b"x-streamtap-publisher"

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_FRAME = 4400
CLOSE_NOT_YOURS = 4409


class LiveStateSerializer(serializers.Serializer):
    state = serializers.CharField(max_length=40)
    timestamp = serializers.CharField(max_length=64, required=False, allow_null=True)
    metadata = serializers.DictField(required=False)


class OutputChunkField(serializers.Field):
    """[oseq, offset seconds, text]"""

    parts = (
        serializers.IntegerField(min_value=1),
        serializers.FloatField(min_value=0),
        serializers.CharField(allow_blank=True, trim_whitespace=False),
    )

    def to_internal_value(self, data):
        if not isinstance(data, list) or len(data) != 3:
            raise serializers.ValidationError("expected [oseq, offset, text]")
        return [field.run_validation(value) for field, value in zip(self.parts, data, strict=True)]


class SessionInfoSerializer(serializers.Serializer):
    """What a page shows of the session (sessions.live.session_info); other keys are dropped."""

    status = serializers.ChoiceField(choices=SessionStatus.values, required=False)
    agent_name = serializers.CharField(max_length=100, required=False)
    command_line = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    mode = serializers.CharField(max_length=10, required=False)
    started_at = serializers.CharField(max_length=64, allow_null=True, required=False)
    ended_at = serializers.CharField(max_length=64, allow_null=True, required=False)
    exit_code = serializers.IntegerField(allow_null=True, required=False)
    last_seq = serializers.IntegerField(min_value=0, required=False)
    total_lines_processed = serializers.IntegerField(min_value=0, required=False)
    total_extraction_events = serializers.IntegerField(min_value=0, required=False)
    event_counts = serializers.DictField(
        child=serializers.IntegerField(min_value=0), required=False
    )


class LiveFrameSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["live.batch"])
    session = serializers.CharField(max_length=100)
    events = LiveEventSerializer(many=True, required=False)
    states = LiveStateSerializer(many=True, required=False)
    output = serializers.ListField(child=OutputChunkField(), required=False)
    output_gap = serializers.ListField(
        child=serializers.IntegerField(min_value=0), min_length=2, max_length=2, required=False
    )
    session_info = SessionInfoSerializer(required=False)


# Every frame is checked by this one instance's fields: a serializer deep-copies its declared
# fields (the nested events' and states' too) each time one is made, 85 % of checking a frame
# of one event (0.67 → 0.10 ms; docs/tap-performance.md, session 15). Checking keeps no state
# on the fields, so the threads that check big frames share them.
FRAME_CHECKER = LiveFrameSerializer()
# Frames up to this size are checked on the event loop (a lone event's frame is ~600 bytes,
# ~0.1 ms); larger ones, a flood's, in a thread, so other sockets are served meanwhile.
INLINE_CHECK_BYTES = 16 * 1024


def checked_frame(payload) -> tuple[dict | None, dict | list | None]:
    """(the validated frame, None), or (None, the errors) as ``is_valid()`` would give them."""
    try:
        return FRAME_CHECKER.run_validation(payload), None
    except serializers.ValidationError:
        # A refused frame (it closes its socket) may take the slow way: a serializer of its
        # own words the errors exactly as the ingest API does (e.g. "No data provided").
        refused = LiveFrameSerializer(data=payload)
        refused.is_valid()
        return None, refused.errors


def frame_for_viewers(data: dict, session_pk: int) -> dict:
    """The validated frame in the wire shape (validated values only; nothing else passes)."""
    frame = {"type": "live.batch", "session": data["session"], "session_pk": session_pk}
    if data.get("events"):
        frame["events"] = [event_json(event, session=data["session"]) for event in data["events"]]
    if data.get("states"):
        frame["states"] = [dict(state) for state in data["states"]]
    for key in ("output", "output_gap"):
        if data.get(key):
            frame[key] = data[key]
    if "session_info" in data:
        frame["session_info"] = dict(data["session_info"])
    return frame


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


@database_sync_to_async
def _token_may_ingest(key: str) -> bool:
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return False
    return may_ingest(token.user)


@database_sync_to_async
def _session_pk(session_id: str) -> int | None:
    return ProcessSession.objects.filter(session_id=session_id).values_list("pk", flat=True).first()


class IngestConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.session_pks: dict[str, int] = {}
        self.refused = False
        self.publisher_key = _header(self.scope, PUBLISHER_HEADER)[:100]
        if not await self._authenticated():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()

    async def disconnect(self, code):
        for pk in self.session_pks.values():
            if PUBLISHERS.get(pk, ("",))[0] == self.channel_name:
                del PUBLISHERS[pk]

    async def _authenticated(self) -> bool:
        signed = _header(self.scope, b"x-streamtap-ingest")
        if signed:
            try:
                signing.loads(signed, salt=INGEST_SALT, max_age=SIGNATURE_MAX_AGE)
                return True
            except signing.BadSignature:
                return False
        auth = _header(self.scope, b"authorization")
        if not auth:
            return False
        # Wrong tokens count against the client's address as on the HTTP API.
        throttle = BadTokenThrottle(_as_request(self.scope))
        if throttle.exhausted():
            return False
        if auth.startswith("Token ") and await _token_may_ingest(auth[6:].strip()):
            return True
        throttle.record()
        return False

    async def refuse(self, code: int, errors) -> None:
        self.refused = True
        await self.send(text_data=_error_frame(errors))
        await self.close(code=code)

    async def receive(self, text_data=None, bytes_data=None):
        if self.refused:
            return  # frames already on their way when this socket was closed
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            return await self.refuse(CLOSE_BAD_FRAME, {"frame": ["expected a JSON text frame"]})
        try:
            payload = load_json(text_data)
        except ValueError as exc:
            return await self.refuse(CLOSE_BAD_FRAME, {"frame": [str(exc)[:300]]})
        if len(text_data) <= INLINE_CHECK_BYTES:
            data, errors = checked_frame(payload)
        else:
            data, errors = await asyncio.to_thread(checked_frame, payload)
        if errors is not None:
            return await self.refuse(CLOSE_BAD_FRAME, errors)
        pk = await self._publishing(data["session"])
        if pk is None:
            return  # no such session (yet): nothing to show anyone
        if PUBLISHERS[pk][0] != self.channel_name:
            return await self.refuse(
                CLOSE_NOT_YOURS, {"session": ["another connection publishes this session"]}
            )
        frame = frame_for_viewers(data, pk)
        everyone, session_frame = split_frame(frame)
        await self.channel_layer.group_send(ALL_GROUP, everyone)
        await self.channel_layer.group_send(group_for_session(pk), session_frame)
        # The highest seq forwarded, in the record every worker reads: a browser subscribing
        # between an event's live frame and its database batch learns from it that something
        # is on its way and resyncs until the batch lands (LiveConsumer.subscribe_session).
        top = top_seq(frame)
        if top:
            await sync_to_async(note_announced, thread_sensitive=False)(pk, data["session"], top)

    async def _publishing(self, session_id: str) -> int | None:
        """The session's pk; the first socket to publish a session owns it until it closes,
        or until its own tap connects again (the same publisher key)."""
        pk = self.session_pks.get(session_id)
        if pk is None:
            pk = await _session_pk(session_id)
            if pk is None:
                return None
            self.session_pks[session_id] = pk
            owner = PUBLISHERS.get(pk)
            if owner is None or (
                self.publisher_key and hmac.compare_digest(owner[1], self.publisher_key)
            ):
                PUBLISHERS[pk] = (self.channel_name, self.publisher_key)
        return pk


def _as_request(scope) -> SimpleNamespace:
    """What DRF's throttles read of a request: its META (client address, forwarded-for)."""
    client = scope.get("client") or ("", 0)
    meta = {"REMOTE_ADDR": client[0]}
    forwarded = _header(scope, b"x-forwarded-for")
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return SimpleNamespace(META=meta)


def _error_frame(errors) -> str:
    return json.dumps({"type": "error", "errors": errors}, default=str)
