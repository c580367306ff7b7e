"""POST /api/ingest/batch: remote taps (no database credentials) store their batches here.

The serializers here are the one definition of what a tap may send: the live websocket
(``sessions/ingest.py``) validates its frames' events with the same ``EventRowSerializer``.
A tap reports what it saw; it never decides a review (no review or decision field is taken).
"""

import json

from django.db import DataError, IntegrityError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from extraction.models import EventType, ReviewStatus, RiskLevel, Severity

from .models import ProcessSession, SessionStatus
from .remote import store_batch

# Deeper than any batch a tap builds (metadata nests a few levels); deep enough to fail fast
# before a recursive walk (DRF's fields, the JSON columns) runs out of stack.
MAX_JSON_DEPTH = 32


def may_ingest(user) -> bool:
    """Writing sessions is for users allowed to add events (staff/superusers, or granted)."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_staff or user.has_perm("extraction.add_extractionevent"))
    )


class CanIngest(BasePermission):
    message = "This token may not ingest sessions (needs extraction.add_extractionevent)."

    def has_permission(self, request, view) -> bool:
        return may_ingest(request.user)


def nested_too_deep(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when lists/objects nest deeper than ``limit`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def load_json(text: str | bytes):
    """Parse a tap's JSON; ValueError (with a reason to show) for bad or too deeply nested JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    if nested_too_deep(value):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


class IngestJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return load_json(stream.read())
        except ValueError as exc:  # also UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}"[:300]) from None


INT32 = 2**31 - 1
LATEST_EPOCH = 32_503_680_000.0  # year 3000: beyond it a timestamp is garbage, not a date


class SpecSerializer(serializers.Serializer):
    agent_name = serializers.CharField(max_length=100)
    argv = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False)
    )
    command_line = serializers.CharField(allow_blank=True, trim_whitespace=False)
    cwd = serializers.CharField(allow_blank=True)
    host = serializers.CharField(max_length=255, allow_blank=True)
    pid = serializers.IntegerField(allow_null=True, min_value=0, max_value=INT32)
    environment = serializers.DictField()
    mode = serializers.ChoiceField(choices=["pty", "pipe", "import"])
    term_cols = serializers.IntegerField(min_value=1, max_value=10000)
    term_rows = serializers.IntegerField(min_value=1, max_value=10000)
    recording_path = serializers.CharField(allow_blank=True)
    started_at = serializers.FloatField(min_value=0, max_value=LATEST_EPOCH)
    tap_pid = serializers.IntegerField(allow_null=True, min_value=0, max_value=INT32)


class EventRowSerializer(serializers.Serializer):
    """A tap's event row: extraction.event_shape.ROW_FIELDS, each with what it may hold
    (tests/api/test_event_shape.py keeps the two lists the same)."""

    seq = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    agent_name = serializers.CharField(max_length=100)
    event_type = serializers.ChoiceField(choices=EventType.values)
    rule = serializers.CharField(max_length=100)
    severity = serializers.ChoiceField(choices=Severity.values)
    risk_level = serializers.ChoiceField(choices=RiskLevel.values)
    auto_confirmable = serializers.BooleanField()
    line_start = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    line_end = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)
    context = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    metadata = serializers.DictField(required=False)
    timestamp = serializers.DateTimeField()
    offset_seconds = serializers.FloatField(min_value=0, max_value=LATEST_EPOCH)
    # No review_status/review_note/reviewed_*: fields a tap sends beyond these are dropped, so
    # every event it stores starts as "pending" triage on the server.


class LiveEventSerializer(EventRowSerializer):
    """An event in a live frame: EVENT_FIELDS, as event_shape.event_json() writes it.

    Its review status is what the tap's own database row says (a display hint; the page
    re-reads rows from the database)."""

    session = serializers.CharField(max_length=100, required=False, allow_null=True)
    review_status = serializers.ChoiceField(choices=ReviewStatus.values, required=False)


class StateSerializer(serializers.Serializer):
    state = serializers.CharField(max_length=40)
    metadata = serializers.DictField()
    at = serializers.FloatField(min_value=0, max_value=LATEST_EPOCH)


class FinishSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SessionStatus.values)
    exit_code = serializers.IntegerField(allow_null=True, min_value=-INT32, max_value=INT32)
    exit_signal = serializers.IntegerField(
        allow_null=True, required=False, min_value=0, max_value=255
    )
    ended_at = serializers.FloatField(min_value=0, max_value=LATEST_EPOCH)


class IngestBatchSerializer(serializers.Serializer):
    spec = SpecSerializer()
    events = EventRowSerializer(many=True)
    states = serializers.ListField(child=serializers.ListField(min_length=3, max_length=3))
    stats = serializers.DictField()
    finish = FinishSerializer(allow_null=True, required=False)

    def validate_events(self, value):
        # A seq sent twice in one batch is one row: the reply must not count it twice.
        unique = {}
        for row in value:
            unique.setdefault(row["seq"], row)
        return list(unique.values())

    def validate_states(self, value):
        checked = []
        for item in value:
            state = StateSerializer(data=dict(zip(("state", "metadata", "at"), item, strict=True)))
            state.is_valid(raise_exception=True)
            data = state.validated_data
            checked.append([data["state"], data["metadata"], data["at"]])
        return checked

    def validate_stats(self, value):
        allowed = ProcessSession.STAT_FIELDS
        stats = {}
        for key, number in value.items():
            if key in allowed:
                if not isinstance(number, int | float) or isinstance(number, bool) or number < 0:
                    raise serializers.ValidationError(f"{key} must be a number ≥ 0")
                stats[key] = number
        return stats


class IngestBatchView(APIView):
    parser_classes = [IngestJSONParser]
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated, CanIngest]

    @extend_schema(
        request=IngestBatchSerializer,
        responses={
            200: inline_serializer(
                "IngestResult",
                {
                    "session_id": serializers.CharField(),
                    "session_pk": serializers.IntegerField(),
                    "stored": serializers.IntegerField(),
                },
            ),
            400: OpenApiResponse(description="malformed batch"),
            401: OpenApiResponse(description="no or bad token"),
            403: OpenApiResponse(description="token may not ingest"),
        },
        tags=["ingest"],
    )
    def post(self, request):
        try:
            data = request.data
        except ParseError as exc:
            return Response({"errors": {"body": [str(exc.detail)]}}, status=400)
        batch = IngestBatchSerializer(data=data)
        if not batch.is_valid():
            return Response({"errors": batch.errors}, status=status.HTTP_400_BAD_REQUEST)
        try:
            return Response(store_batch(batch.validated_data))
        except (DataError, IntegrityError, ValueError, TypeError, OverflowError) as exc:
            # Valid JSON the database still cannot take (a value out of its range): the
            # client's batch is wrong, not the server.
            return Response(
                {"errors": {"batch": [f"rejected: {exc}"[:300]]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
