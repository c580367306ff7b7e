from __future__ import annotations

from rest_framework import serializers

from extraction.serializers import QueryParameters, text_field

from .queries import MAX_QUERY, MAX_WINDOW_LINES, decode_after

SESSION_HELP = "Session id, e.g. codex-20261126-101500."


def check_query(value: str) -> str:
    if "\x00" in value:
        raise serializers.ValidationError("must not contain NUL")
    if not value.strip():
        raise serializers.ValidationError("must not be blank")
    return value


class OutputSearchParameters(QueryParameters):
    q = serializers.CharField(
        max_length=MAX_QUERY,
        trim_whitespace=False,
        help_text="Text to find in what the programs printed: a literal, case-insensitive "
        "substring (no query syntax).",
    )
    session = text_field(160, SESSION_HELP)
    limit = serializers.IntegerField(
        required=False, default=50, min_value=1, max_value=500, help_text="Page size."
    )
    after = serializers.CharField(
        required=False,
        max_length=40,
        help_text="Continue after this position (the `next` link gives it).",
    )

    def validate_q(self, value: str) -> str:
        return check_query(value)

    def validate_after(self, value: str) -> tuple[int, int]:
        try:
            return decode_after(value)
        except ValueError:
            raise serializers.ValidationError("must be a position from a `next` link") from None


class OutputWindowParameters(QueryParameters):
    session = serializers.CharField(max_length=160, help_text=SESSION_HELP)
    line = serializers.IntegerField(
        min_value=1, max_value=2**62, help_text="The line to show (as in an event's line_start)."
    )
    before = serializers.IntegerField(
        required=False,
        default=200,
        min_value=0,
        max_value=MAX_WINDOW_LINES,
        help_text="Lines before `line` (default 200; fewer near the start, more after then).",
    )
    after = serializers.IntegerField(
        required=False, default=199, min_value=0, max_value=MAX_WINDOW_LINES
    )
