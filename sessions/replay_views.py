"""Replay: the recording export, the paced replay stream, the ranges the replay page reads, and
the page itself.

The page keeps its own clock: it fetches the keyframe and the lines from a time offset
(``range?start=T``), then continues by cursor (``range?cursor=C``) a window ahead of what it
plays, and polls at the end of a live recording. Play, pause, speed and seeking are then purely
local (instant, no server state per viewer), and a seek is one request that reads a few hundred
KB whatever the length of the recording. The paced stream (``GET /api/replay/session/<id>``)
is for REST clients that want the timing done for them.
"""

from __future__ import annotations

import math
from pathlib import Path

from asgiref.sync import sync_to_async
from django.db.models import Max
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from extraction.event_shape import event_json
from extraction.models import ExtractionEvent
from extraction.serializers import QueryParameters
from streamtap_site.api_common import (
    DETAIL_401,
    DETAIL_404,
    ERRORS_400,
    ParameterError,
    StreamtapAPIMixin,
)
from streamtap_site.csp import content_security_policy

from .models import ProcessSession
from .recording import RecordingError
from .replay import MAX_SPEED, MIN_SPEED, replay_body
from .replay_index import Cursor, RecordingIndex

# The replay page loads at most this many events for its list and seek bar.
MAX_PAGE_EVENTS = 10_000
RANGE_BYTES = 256 * 1024
EXPORT_CHUNK = 64 * 1024


class FiniteFloatField(serializers.FloatField):
    default_error_messages = {"invalid": "must be a number"}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class ReplayQuerySerializer(QueryParameters):
    speed = FiniteFloatField(
        required=False,
        default=1.0,
        help_text=f"Playback speed, {MIN_SPEED:g} to {MAX_SPEED:g} (default 1).",
    )
    idle_time_limit = FiniteFloatField(
        required=False,
        default=None,
        help_text="Cap every pause in the output at this many seconds (default: the recording's "
        "own idle_time_limit, else no cap).",
    )
    start = FiniteFloatField(
        required=False, default=0.0, help_text="Start at this offset in seconds (default 0)."
    )
    format = serializers.ChoiceField(
        choices=["ndjson", "sse"],
        required=False,
        default="ndjson",
        error_messages={"invalid_choice": '"{input}": must be one of ndjson, sse'},
    )

    def validate_speed(self, value: float) -> float:
        if not MIN_SPEED <= value <= MAX_SPEED:
            raise serializers.ValidationError(f"must be from {MIN_SPEED:g} to {MAX_SPEED:g}")
        return value

    def validate_idle_time_limit(self, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise serializers.ValidationError("must be greater than 0")
        return value

    def validate_start(self, value: float) -> float:
        if value < 0:
            raise serializers.ValidationError("must be 0 or more")
        return value


CURSOR_ERROR = "must be a cursor from a previous range"


class RangeQuerySerializer(QueryParameters):
    start = FiniteFloatField(
        required=False,
        help_text="Seek: keyframe and lines from here (a time past the end seeks to the end).",
    )
    cursor = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Continue where the last range ended.",
        error_messages={"max_length": CURSOR_ERROR},
    )

    def validate_start(self, value: float) -> float:
        if value < 0:
            raise serializers.ValidationError("must be 0 or more")
        return value

    def validate_cursor(self, value: str) -> Cursor:
        try:
            return Cursor.decode(value)
        except ValueError:
            raise serializers.ValidationError(CURSOR_ERROR) from None


def _recording_index(session: ProcessSession) -> RecordingIndex:
    # Not "Not found.": the session is there, and the client should not think its id wrong.
    if not session.has_recording:
        raise NotFound("no recording for this session")
    try:
        return RecordingIndex.open(Path(session.recording_path))
    except RecordingError as exc:
        # The error names the file; the server's paths are none of the client's business.
        raise NotFound("the recording of this session cannot be read") from exc


def _checked_cursor(index: RecordingIndex, cursor: Cursor) -> Cursor:
    try:
        index.check(cursor)
    except ValueError as exc:
        raise ParameterError({"cursor": [f"{CURSOR_ERROR}: {exc}"]}) from None
    return cursor


def _events(
    session: ProcessSession,
    *,
    after_seq: int = 0,
    from_offset: float = 0.0,
    limit: int | None = None,
) -> list:
    rows = ExtractionEvent.objects.filter(session=session, seq__gt=after_seq).order_by("seq")
    if from_offset > 0:
        rows = rows.filter(offset_seconds__gte=from_offset)
    if limit is not None:
        rows = rows[:limit]
    return [event_json(e, session=e.session.session_id) for e in rows.select_related("session")]


class ReplaySessionMixin(StreamtapAPIMixin):
    def get_session(self, session_id: str) -> ProcessSession:
        return get_object_or_404(ProcessSession, session_id=session_id)


# What every replay endpoint may answer besides its 200 (the API's error shapes).
ERROR_RESPONSES = {400: ERRORS_400, 401: DETAIL_401, 404: DETAIL_404}


@extend_schema(
    summary="The session's asciicast v2 recording, as a download",
    responses={
        (200, "application/x-asciicast"): OpenApiResponse(OpenApiTypes.BINARY),
        **ERROR_RESPONSES,
    },
    tags=["sessions"],
)
class RecordingExportView(ReplaySessionMixin, APIView):
    """The session's asciicast v2 recording as a download (complete lines only if still live)."""

    def get(self, request, session_id: str):
        session = self.get_session(session_id)
        index = _recording_index(session)
        response = StreamingHttpResponse(
            _file_chunks(index.path, index.size), content_type="application/x-asciicast"
        )
        response["Content-Length"] = str(index.size)
        response["Content-Disposition"] = f'attachment; filename="{session.session_id}.cast"'
        response["Cache-Control"] = "no-store"
        return response


def _file_chunks(path: Path, size: int):
    with open(path, "rb") as f:
        left = size
        while left > 0:
            chunk = f.read(min(EXPORT_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


@extend_schema(
    summary="Replay a session: output and events with their timing, as NDJSON or SSE",
    description="Each line (NDJSON) or `data:` message (SSE) is one of "
    '`{"t", "type": "o", "data"}`, `{"t", "type": "r", "data": "COLSxROWS"}`, '
    '`{"t", "type": "event", "event": EVENT}`; the last is `{"type": "end"}`. With `start`, the '
    'first output message carries `"keyframe": true`: the recent output that redraws the screen. '
    "A session still running is followed until it ends.",
    parameters=[ReplayQuerySerializer],
    responses={
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR),
        (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR),
        **ERROR_RESPONSES,
    },
    tags=["replay"],
)
class ReplayStreamView(ReplaySessionMixin, APIView):
    """Output and events with their original timing scaled by `speed`, as NDJSON or SSE."""

    query_serializer_class = ReplayQuerySerializer

    def perform_content_negotiation(self, request, force=False):
        # `format` is our own parameter (ndjson or sse), not DRF's renderer override.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request, session_id: str):
        params = self.params
        session = self.get_session(session_id)
        index = _recording_index(session)
        if not session.is_live and params["start"] > index.end_time:
            raise ParameterError(
                {"start": [f"must be at most {index.end_time:.3f}, the end of the recording"]}
            )
        idle = params["idle_time_limit"] or index.idle_time_limit
        follow = after_seq = None
        if session.is_live:
            follow = _follow(session)
            after_seq = session.events.aggregate(m=Max("seq"))["m"] or 0
        body = replay_body(
            index,
            _events(session, from_offset=params["start"]),
            start=params["start"],
            speed=params["speed"],
            idle_time_limit=idle,
            fmt=params["format"],
            follow=follow,
            after_seq=after_seq,
        )
        sse = params["format"] == "sse"
        response = StreamingHttpResponse(
            body, content_type="text/event-stream" if sse else "application/x-ndjson"
        )
        response["Cache-Control"] = "no-store"
        # Proxies (nginx) must pass each batch on as it comes, not buffer the replay.
        response["X-Accel-Buffering"] = "no"
        return response


def _follow(session: ProcessSession):
    @sync_to_async
    def poll(after_seq: int) -> tuple[bool, list[dict]]:
        status = ProcessSession.objects.filter(pk=session.pk).values_list("status", flat=True)
        session.status = status.first() or session.status
        return session.is_live, _events(session, after_seq=after_seq)

    return poll


@extend_schema(
    summary="What a replay page needs first: duration, size, liveness, events",
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT),
        **ERROR_RESPONSES,
    },
    tags=["replay"],
)
class ReplayIndexView(ReplaySessionMixin, APIView):
    """What the replay page needs first: duration, terminal size, liveness and the events."""

    def get(self, request, session_id: str):
        session = self.get_session(session_id)
        index = _recording_index(session)
        return Response(
            {
                "session": session.session_id,
                "status": session.status,
                "live": session.is_live,
                "duration": index.end_time,
                "cols": index.cols,
                "rows": index.rows,
                "bytes": index.size,
                "events": _events(session, limit=MAX_PAGE_EVENTS),
            }
        )


@extend_schema(
    summary="Recording lines from a time offset (with the keyframe) or from a cursor",
    parameters=[RangeQuerySerializer],
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT),
        **ERROR_RESPONSES,
    },
    tags=["replay"],
)
class ReplayRangeView(ReplaySessionMixin, APIView):
    """Recording lines for the page's player: from a time (with the keyframe) or a cursor."""

    query_serializer_class = RangeQuerySerializer

    def get(self, request, session_id: str):
        params = self.params
        if ("start" in params) == ("cursor" in params):
            raise ParameterError({"start": ["give either start or cursor"]})
        session = self.get_session(session_id)
        index = _recording_index(session)
        body: dict = {}
        if "start" in params:
            # Clamped, not refused: the page rounds the time it seeks to, so its "the end" can
            # be a little past the end.
            seek = index.seek(min(params["start"], index.end_time))
            cursor = seek.cursor
            body.update(start=seek.time, keyframe=seek.keyframe, cols=seek.cols, rows=seek.rows)
        else:
            cursor = _checked_cursor(index, params["cursor"])
        frames, after = index.read(cursor, max_bytes=RANGE_BYTES)
        body.update(
            frames=[[f.t, f.code, f.data] for f in frames if f.code in ("o", "r")],
            cursor=after.encode(),
            eof=after.byte >= index.size,
            duration=max(index.end_time, frames[-1].t if frames else 0.0),
            live=session.is_live,
        )
        return Response(body)


@content_security_policy
def replay_page(request, session_id: str):
    session = get_object_or_404(ProcessSession, session_id=session_id)
    return render(request, "sessions/replay.html", {"session": session})
