"""API shapes for process sessions and their state changes, and the sessions list's parameters."""

from __future__ import annotations

from rest_framework import serializers

from extraction.serializers import MAX_DAYS, QueryParameters, choice_field, limit_field, text_field

from .models import ProcessSession, ProcessStateChange, SessionStatus

# seq is a PositiveIntegerField: nothing above this exists, and larger values overflow SQLite.
MAX_SEQ = 2**31 - 1


class SessionQuerySerializer(QueryParameters):
    agent = text_field(100, "Agent name, exact.")
    status = choice_field(SessionStatus.choices, help_text="Session status.")
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=f"Only sessions started within this many days (1 to {MAX_DAYS}).",
        error_messages={"invalid": f"must be a whole number of days from 1 to {MAX_DAYS}"},
    )
    limit = limit_field()


class SessionEventsQuerySerializer(QueryParameters):
    after_seq = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_SEQ,
        help_text="Only events with a larger seq: resume after the last event a client saw.",
        error_messages={"invalid": f"must be a whole number from 0 to {MAX_SEQ}"},
    )
    limit = limit_field()


class StateChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessStateChange
        fields = ["state", "timestamp", "metadata"]
        read_only_fields = fields


class ProcessSessionSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.SerializerMethodField()
    url = serializers.CharField(
        source="get_absolute_url", read_only=True, help_text="The session's dashboard page."
    )

    class Meta:
        model = ProcessSession
        fields = [
            "id",
            "session_id",
            "agent_name",
            "status",
            "argv",
            "command_line",
            "cwd",
            "host",
            "pid",
            "mode",
            "term_cols",
            "term_rows",
            "environment",
            "started_at",
            "ended_at",
            "duration_seconds",
            "exit_code",
            "exit_signal",
            "total_lines_processed",
            "total_extraction_events",
            "bytes_out",
            "event_counts",
            "prompt_wait_seconds",
            "last_heartbeat",
            "url",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, session: ProcessSession) -> float | None:
        duration = session.duration
        return round(duration.total_seconds(), 3) if duration is not None else None


class ProcessSessionDetailSerializer(ProcessSessionSerializer):
    state_changes = StateChangeSerializer(many=True, read_only=True)

    class Meta(ProcessSessionSerializer.Meta):
        fields = [*ProcessSessionSerializer.Meta.fields, "state_changes"]
        read_only_fields = fields
