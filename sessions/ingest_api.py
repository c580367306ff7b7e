"""POST /api/ingest/batch: remote taps (no database credentials) store their batches here."""

from django.db import DataError, IntegrityError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from extraction.models import EventType, ReviewStatus, RiskLevel, Severity

from .models import SessionStatus
from .remote import store_batch


class CanIngest(BasePermission):
    """Writing sessions is for users allowed to add events (staff/superusers, or granted)."""

    message = "This token may not ingest sessions (needs extraction.add_extractionevent)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_staff or user.has_perm("extraction.add_extractionevent"))
        )


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
    review_status = serializers.ChoiceField(choices=ReviewStatus.values, required=False)
    review_note = serializers.CharField(allow_blank=True, required=False)


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

    def validate_states(self, value):
        checked = []
        for item in value:
            state = StateSerializer(data=dict(zip(("state", "metadata", "at"), item, strict=True)))
            state.is_valid(raise_exception=True)
            data = state.validated_data
            checked.append([data["state"], data["metadata"], data["at"]])
        return checked

    def validate_stats(self, value):
        allowed = {"total_lines_processed", "bytes_out", "prompt_wait_seconds"}
        stats = {}
        for key, number in value.items():
            if key in allowed:
                if not isinstance(number, int | float) or isinstance(number, bool) or number < 0:
                    raise serializers.ValidationError(f"{key} must be a number ≥ 0")
                stats[key] = number
        return stats


class IngestBatchView(APIView):
    parser_classes = [JSONParser]
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
        batch = IngestBatchSerializer(data=request.data)
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
