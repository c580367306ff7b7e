"""Which events a list shows: one definition of the event filters, read the same way by the
Events page, its CSV/NDJSON exports and the API (`/api/query/extractions` and its export).

The rules, everywhere:

- `since` is inclusive and `until` exclusive: an event at exactly `until` is left out, so
  two windows that share an edge never both hold an event.
- Times are ISO 8601. With an offset (`2026-11-26T10:15:00+01:00`, `…Z`) a time is that
  instant. Without one it is read in the zone `tz` names (an IANA name such as
  `Europe/Berlin`), else in UTC. The Events page sends its pickers with the browser's offset.
- A date alone is read in the same zone: as `since` it is that day's start; as `until` it is
  the next day's start, so the whole day counts and `since=D&until=D` is the day D.
- `range=15m|1h|24h|7d` is a window that ends now (or at `until`); it replaces `since`, and
  giving both is an error.
- `severity` is also spelt `level`, and `review_status` `review` (the page's name).

A bad value is a 400 naming the parameter (the API's error body; the page shows the same
messages). `ExtractionEvent.objects.filtered(params)` applies the validated parameters.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from .models import EventType, ReviewStatus, RiskLevel, Severity
from .serializers import QueryParameters, choice_field, existing_session, limit_field, text_field

RANGES = {
    "15m": dt.timedelta(minutes=15),
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
}
# Second spellings of a parameter: the page's names and the overview's links use them.
ALIASES = {"level": "severity", "review": "review_status"}
MOMENT_ERROR = (
    "must be an ISO 8601 datetime (2026-11-26T10:15:00+01:00, or without an offset in `tz`, "
    "else UTC) or a date (2026-11-26)"
)
EXPORT_FORMATS = ("csv", "ndjson")


def parse_moment(text: str, zone: dt.tzinfo, *, end_of_day: bool = False) -> dt.datetime:
    """An ISO 8601 datetime or date as an aware UTC datetime; ValueError if it is neither.

    A value without an offset is read in `zone`; a date is its day's start, or with
    `end_of_day` the next day's start (`until` is exclusive, so the whole day counts).
    """
    day = parse_date(text)  # a date first: parse_datetime reads "2026-11-26" as its midnight
    if day is not None:
        value = dt.datetime.combine(day, dt.time.min)
        if end_of_day:
            value += dt.timedelta(days=1)
    else:
        value = parse_datetime(text)
        if value is None:
            raise ValueError(text)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=zone)
    # Comparing needs UTC; a year-9999 value with an offset overflows on the way.
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(text) from None


def moment_field(help_text: str) -> serializers.CharField:
    # Text here, read in validate(): a time without an offset depends on `tz`.
    return text_field(64, help_text)


class EventQuery(QueryParameters):
    agent = text_field(100, "Agent name, exact.")
    session = text_field(160, "Session id, e.g. codex-20261126-101500.")
    type = choice_field(EventType.choices, help_text="Event type.")
    severity = choice_field(Severity.choices, help_text="Severity.")
    level = choice_field(Severity.choices, help_text="Severity (another name for `severity`).")
    risk = choice_field(RiskLevel.choices, help_text="Risk level.")
    review_status = choice_field(ReviewStatus.choices, help_text="Review status.")
    review = choice_field(
        ReviewStatus.choices, help_text="Review status (another name for `review_status`)."
    )
    rule = text_field(100, "Rule name, exact.")
    group = text_field(32, "Error group (problem) fingerprint, exact.")
    since = moment_field(
        "Events at or after this time: ISO 8601 with an offset, or without one in `tz` (else "
        "UTC); a date alone is its start."
    )
    until = moment_field(
        "Events before this time (exclusive): ISO 8601 with an offset, or without one in `tz` "
        "(else UTC); a date alone counts the whole day."
    )
    range = choice_field(
        [(name, name) for name in RANGES],
        help_text="A window ending now (or at `until`): 15m, 1h, 24h or 7d. Not with `since`.",
    )
    tz = text_field(
        64, "IANA time zone (Europe/Berlin) for times and dates given without an offset."
    )
    q = text_field(200, "Text contained in the content or the rule.")
    limit = limit_field()

    @classmethod
    def from_query(cls, query, *, passthrough: tuple[str, ...] = ()) -> EventQuery:
        """From a page's GET parameters (a QueryDict), as `from_request` is from an API call."""
        blank_means_any = cls.blank_means_any()
        data = {k: v for k, v in query.items() if v != "" or k not in blank_means_any}
        return cls(data=data, unknown=set(query) - set(passthrough), passthrough=passthrough)

    validate_session = staticmethod(existing_session)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        errors: dict[str, list[str]] = {}
        for alias, name in ALIASES.items():
            value = attrs.pop(alias, "")
            if value and attrs.get(name) and attrs[name] != value:
                errors[alias] = [f"contradicts {name}={attrs[name]}; give one of the two"]
            elif value:
                attrs[name] = value
        zone: dt.tzinfo = dt.UTC
        if attrs.get("tz"):
            try:
                zone = ZoneInfo(attrs["tz"])
            except (ZoneInfoNotFoundError, ValueError):
                errors["tz"] = ["unknown time zone: use an IANA name such as Europe/Berlin"]
        for name in ("since", "until"):
            if attrs.get(name):
                try:
                    attrs[name] = parse_moment(attrs[name], zone, end_of_day=name == "until")
                except ValueError:
                    errors[name] = [MOMENT_ERROR]
            else:
                attrs.pop(name, None)
        if attrs.get("range"):
            if "since" in attrs:
                errors["range"] = ["give range or since, not both"]
            elif "until" not in errors:
                end = attrs.get("until") or timezone.now()
                attrs["since"] = end - RANGES[attrs["range"]]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class EventExportQuery(EventQuery):
    """The filters of a list plus the file format; an export holds every matching event."""

    format = choice_field(
        [(name, name) for name in EXPORT_FORMATS],
        help_text="csv (default) or ndjson (one JSON event per line, the API's event shape).",
    )
    limit = None


class EventCountQuery(EventQuery):
    """The filters of a list, to count what they select."""

    limit = None


def page_filters(params: dict) -> dict:
    """The validated filters as the Events page's script applies them to live events."""
    session = params.get("session")
    return {
        "agent": params.get("agent", ""),
        "session": session.session_id if session else "",
        "type": params.get("type", ""),
        "severity": params.get("severity", ""),
        "risk": params.get("risk", ""),
        "review": params.get("review_status", ""),
        "rule": params.get("rule", ""),
        "group": params.get("group", ""),
        "since": params["since"].isoformat() if params.get("since") else "",
        "until": params["until"].isoformat() if params.get("until") else "",
        "q": params.get("q", ""),
    }
