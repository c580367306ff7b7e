"""API shapes for extraction events, code blocks and review, and the query parameters that
select them.

Query parameters go through serializers too: one place says what a parameter accepts, the
same declaration becomes the OpenAPI schema, and a bad value becomes a 400 that names the
parameter and what is allowed.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sessions.models import ProcessSession

from .event_shape import EVENT_FIELDS, event_json
from .models import (
    REVIEW_DECISIONS,
    CodeBlock,
    ErrorGroup,
    ExtractionEvent,
    GroupStatus,
)

# A page holds at most this many items. A larger `limit` is an error, not silently cut: a
# client that asked for 1,000 and got 500 would believe it had everything.
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Enough for any real question ("the last ten years") and far from timedelta's overflow.
MAX_DAYS = 36500


def choice_field(choices, **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose error lists what is allowed, e.g. "must be one of low, medium, high"."""
    values = [value for value, _label in choices]
    kwargs.setdefault("required", False)
    # An empty value means "any" (a form's blank select), as for every query parameter.
    kwargs.setdefault("allow_blank", True)
    return serializers.ChoiceField(
        choices=values,
        error_messages={"invalid_choice": f'"{{input}}": must be one of {", ".join(values)}'},
        **kwargs,
    )


def text_field(max_length: int, help_text: str | None = None) -> serializers.CharField:
    """An optional text parameter; empty means "any", as for every query parameter."""
    return serializers.CharField(
        required=False, allow_blank=True, max_length=max_length, help_text=help_text
    )


def existing_session(session_id: str) -> ProcessSession:
    """A `session` parameter's session; one that does not exist is a 400, not an empty list."""
    session = ProcessSession.objects.filter(session_id=session_id).only("id", "session_id").first()
    if session is None:
        raise serializers.ValidationError(f'"{session_id}": unknown session')
    return session


def limit_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
        error_messages={
            "invalid": f"must be a whole number from 1 to {MAX_LIMIT}",
            "max_value": f"must be at most {MAX_LIMIT}; follow the `next` link for more",
            "min_value": "must be at least 1",
        },
    )


@extend_schema_field(OpenApiTypes.STR)
class DateTimeOrDateField(serializers.Field):
    """An ISO 8601 datetime (`2026-11-26T10:15:00Z`) or a date (`2026-11-26`).

    A date stands for its whole day in the server's time zone: as `since` it means the start
    of the day, as `until` the end of it. Datetimes without an offset are server local time.
    """

    default_error_messages = {
        "invalid": "must be an ISO 8601 datetime (2026-11-26T10:15:00Z) or date (2026-11-26)",
    }

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> dt.datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            # A date first: parse_datetime would read "2026-11-26" as its midnight.
            day = parse_date(data)
            if day is not None:
                value = dt.datetime.combine(day, dt.time.min)
                if self.end_of_day:
                    value += dt.timedelta(days=1)
            else:
                value = parse_datetime(data)
                if value is None:
                    self.fail("invalid")
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
            # Comparing needs UTC; a year-9999 value with an offset overflows on the way.
            return value.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


class QueryParameters(serializers.Serializer):
    """Base for query-string serializers.

    An empty text value counts as absent (`?agent=` from a form); text parameters declare
    allow_blank=True so the schema says so too. Unknown parameters are an error; `passthrough`
    names those another part reads (a list's paginator reads `cursor`).
    """

    @classmethod
    def blank_means_any(cls) -> frozenset[str]:
        """Parameters whose blank value means "any": text, and dates. A blank number is still
        not a number. Worked out once per class (building the fields costs ~1 ms)."""
        names = cls.__dict__.get("_blank_means_any")
        if names is None:
            names = frozenset(
                name
                for name, field in cls().fields.items()
                if getattr(field, "allow_blank", False) or isinstance(field, DateTimeOrDateField)
            )
            cls._blank_means_any = names
        return names

    @classmethod
    def from_request(
        cls, request, *, passthrough: tuple[str, ...] = (), **kwargs
    ) -> QueryParameters:
        blank_means_any = cls.blank_means_any()
        data = {
            key: value
            for key, value in request.query_params.items()
            if value != "" or key not in blank_means_any
        }
        return cls(
            data=data,
            unknown=set(request.query_params) - set(passthrough),
            passthrough=passthrough,
            **kwargs,
        )

    def __init__(
        self,
        *args,
        unknown: set[str] = frozenset(),
        passthrough: tuple[str, ...] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.unknown = unknown - set(self.fields)
        self.passthrough = passthrough

    def validate(self, attrs):
        # A misspelt parameter (`?agnet=codex`) silently ignored would answer another question
        # than the one asked.
        if self.unknown:
            allowed = [*self.fields, *self.passthrough]
            message = (
                f"unknown parameter; allowed: {', '.join(allowed)}"
                if allowed
                else "unknown parameter; this endpoint takes none"
            )
            raise serializers.ValidationError({name: [message] for name in sorted(self.unknown)})
        return attrs


class NoQueryParameters(QueryParameters):
    """For an endpoint that reads no query parameter: any given is unknown, as on the lists."""


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[value for value in REVIEW_DECISIONS],
        error_messages={
            "invalid_choice": f'"{{input}}": must be one of {", ".join(REVIEW_DECISIONS)}'
        },
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


# What the API adds to the EVENT shape: its row id, the code block, triage details, the error
# group and a prompt's answer (issue 15 row 2: apart from its triage).
API_ONLY_FIELDS = (
    "code_block",
    "reviewed_by",
    "reviewed_at",
    "review_note",
    "group",
    "prompt_decision",
    "prompt_decision_by",
    "prompt_decided_at",
)


class ExtractionEventSerializer(serializers.ModelSerializer):
    """The EVENT shape of docs/architecture.md, plus id, code block and review details."""

    session = serializers.CharField(source="session.session_id", read_only=True)
    code_block = serializers.CharField(
        source="code_block.sha256", read_only=True, allow_null=True, default=None
    )
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", read_only=True, allow_null=True, default=None
    )
    # The error group's fingerprint (see /api/groups/), read off the event's own column.
    group = serializers.CharField(source="group_id", read_only=True, allow_null=True)

    class Meta:
        model = ExtractionEvent
        # The EVENT shape (extraction/event_shape.py), then what only the API shows.
        fields = ["id", *EVENT_FIELDS, *API_ONLY_FIELDS]
        read_only_fields = fields


# The list endpoints skip ExtractionEventSerializer: per object it costs ~60 µs (model
# instances, then a field lookup each), most of a 500-event page. `event_values()` fetches the
# same columns as plain rows and `event_data()` turns them into the serializer's exact output.
# The serializer's fields, with the related objects' shown value instead of their key.
_RELATED_VALUE = {
    "session": "session__session_id",
    "code_block": "code_block__sha256",
    "reviewed_by": "reviewed_by__username",
    "group": "group_id",
}
EVENT_VALUES = tuple(
    _RELATED_VALUE.get(name, name) for name in ExtractionEventSerializer.Meta.fields
)
_datetime = serializers.DateTimeField()


def event_values(queryset):
    """An event queryset as rows of EVENT_VALUES (dicts, which the cursor paginator reads)."""
    return queryset.values(*EVENT_VALUES)


def event_data(rows) -> list[dict]:
    """What ExtractionEventSerializer(many=True).data gives for the same events."""
    datetime = _datetime.to_representation
    return [
        {
            "id": row["id"],
            # The API's times are in the server's zone (STREAMTAP_TIME_ZONE), as DRF writes them.
            **event_json(
                row, session=row["session__session_id"], timestamp=datetime(row["timestamp"])
            ),
            "code_block": row["code_block__sha256"],
            "reviewed_by": row["reviewed_by__username"],
            "reviewed_at": datetime(row["reviewed_at"]) if row["reviewed_at"] else None,
            "review_note": row["review_note"],
            "group": row["group_id"],
            "prompt_decision": row["prompt_decision"],
            "prompt_decision_by": row["prompt_decision_by"],
            "prompt_decided_at": (
                datetime(row["prompt_decided_at"]) if row["prompt_decided_at"] else None
            ),
        }
        for row in rows
    ]


class CodeBlockQuerySerializer(QueryParameters):
    language = text_field(40, "Language, exact (e.g. python).")
    q = text_field(200, "Text in the code.")
    limit = limit_field()


class CodeBlockSerializer(serializers.ModelSerializer):
    class Meta:
        model = CodeBlock
        fields = ["sha256", "language", "content", "first_seen", "last_seen", "occurrences"]
        read_only_fields = fields


class RuleOutcomeSerializer(serializers.Serializer):
    rule = serializers.CharField()
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    rejected = serializers.IntegerField()
    false_positive = serializers.IntegerField()
    judged = serializers.IntegerField(help_text="confirmed + false_positive")
    precision = serializers.FloatField(
        allow_null=True, help_text="confirmed / (confirmed + false_positive); null if none judged"
    )
    flagged = serializers.BooleanField(
        help_text="precision below the threshold with enough judged events to trust it"
    )


class RuleCountSerializer(serializers.Serializer):
    rule = serializers.CharField()
    count = serializers.IntegerField()


class AgentSessionStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    finished = serializers.IntegerField()
    succeeded = serializers.IntegerField(help_text="completed with exit code 0")
    success_rate = serializers.FloatField(allow_null=True, help_text="succeeded / finished")
    mean_duration_seconds = serializers.FloatField(allow_null=True)
    total_lines = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class AgentEventStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_type = serializers.DictField(child=serializers.IntegerField())
    by_risk = serializers.DictField(child=serializers.IntegerField())


class PromptWaitRuleSerializer(serializers.Serializer):
    rule = serializers.CharField()
    prompts = serializers.IntegerField()
    wait_seconds = serializers.FloatField()


class PromptWaitSerializer(serializers.Serializer):
    total_seconds = serializers.FloatField(help_text="time the agent's programs sat at prompts")
    by_rule = PromptWaitRuleSerializer(many=True)


class AgentStatsSerializer(serializers.Serializer):
    agent = serializers.CharField()
    prompt_wait = PromptWaitSerializer()
    sessions = AgentSessionStatsSerializer()
    events = AgentEventStatsSerializer()
    top_rules = RuleCountSerializer(many=True)
    rules = RuleOutcomeSerializer(many=True)
    precision_threshold = serializers.FloatField()
    min_judged = serializers.IntegerField()


class APIRootSerializer(serializers.Serializer):
    extractions = serializers.URLField(help_text="Extraction events, newest first.")
    sessions = serializers.URLField(help_text="Process sessions, newest first.")
    code_blocks = serializers.URLField(help_text="Code blocks, most recently seen first.")
    docs = serializers.URLField(help_text="This API's documentation (Swagger UI), for a browser.")
    schema = serializers.URLField(help_text="The OpenAPI 3 schema.")


class GroupQuerySerializer(QueryParameters):
    agent = text_field(100, "Seen from this agent.")
    session = text_field(160, "Seen in this session (id).")
    type = choice_field([(t, t) for t in ("error", "warning")], help_text="Event type.")
    status = choice_field(GroupStatus.choices, help_text="Review status of the group.")
    rule = text_field(100)
    since = DateTimeOrDateField(help_text="Last seen at or after this datetime or date.")
    until = DateTimeOrDateField(
        end_of_day=True, help_text="First seen before this datetime or date."
    )
    order = choice_field(
        [("last_seen", "last_seen"), ("count", "count")],
        help_text="last_seen (default): most recent first; count: most frequent first.",
    )
    limit = limit_field()

    validate_session = staticmethod(existing_session)


class ErrorGroupSerializer(serializers.ModelSerializer):
    """A problem: every occurrence of one fingerprint, and its review."""

    agents = serializers.SerializerMethodField()
    representative = serializers.IntegerField(
        source="representative_id", read_only=True, allow_null=True, help_text="An event id."
    )
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ErrorGroup
        fields = [
            "id",
            "fingerprint",
            "event_type",
            "rule",
            "title",
            "risk_level",
            "first_seen",
            "last_seen",
            "count",
            "session_count",
            "agents",
            "representative",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "regressed_at",
        ]
        read_only_fields = fields

    def get_agents(self, group: ErrorGroup) -> list[str]:
        return sorted({link.agent_name for link in group.sessions.all()})
