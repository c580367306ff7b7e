"""The one definition of the event filters (extraction/filters.py) and the queryset method that
applies them: the Events page, its exports and the API all read parameters this way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import timezone

from extraction.filters import EventQuery, parse_moment
from extraction.models import ExtractionEvent
from tests.factories import make_event, make_session

BERLIN = ZoneInfo("Europe/Berlin")


def read(query: str) -> dict:
    parsed = EventQuery.from_query(QueryDict(query))
    assert parsed.is_valid(), parsed.errors
    return parsed.validated_data


@pytest.mark.parametrize(
    ("text", "zone", "end_of_day", "expected"),
    [
        ("2026-11-26T10:15:00+01:00", UTC, False, datetime(2026, 11, 26, 9, 15, tzinfo=UTC)),
        ("2026-11-26T10:15:00Z", BERLIN, False, datetime(2026, 11, 26, 10, 15, tzinfo=UTC)),
        ("2026-11-26T10:15", UTC, False, datetime(2026, 11, 26, 10, 15, tzinfo=UTC)),
        ("2026-11-26T10:15", BERLIN, False, datetime(2026, 11, 26, 9, 15, tzinfo=UTC)),
        ("2026-11-26", UTC, False, datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),
        ("2026-11-26", BERLIN, False, datetime(2026, 11, 25, 23, 0, tzinfo=UTC)),
        # As `until` (exclusive) a date counts its whole day: the next day's start.
        ("2026-11-26", UTC, True, datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("2026-11-26T10:15", UTC, True, datetime(2026, 11, 26, 10, 15, tzinfo=UTC)),
    ],
)
def test_a_moment_is_an_iso_instant_read_in_its_offset_or_zone(text, zone, end_of_day, expected):
    assert parse_moment(text, zone, end_of_day=end_of_day) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-45", "9999-12-31T23:59:59-23:59", ""])
def test_anything_else_is_not_a_moment(text):
    with pytest.raises(ValueError):
        parse_moment(text, UTC, end_of_day=True)


def test_a_range_is_a_window_ending_now_or_at_until(db):
    before = timezone.now()
    params = read("range=1h")
    assert before - timedelta(hours=1) <= params["since"] <= timezone.now() - timedelta(hours=1)
    assert "until" not in params
    params = read("range=15m&until=2026-11-26T10:00:00Z")
    assert params["since"] == datetime(2026, 11, 26, 9, 45, tzinfo=UTC)
    assert params["until"] == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_aliases_read_as_their_parameter(db):
    assert read("level=error&review=pending") == {
        "severity": "error",
        "review_status": "pending",
        "limit": 50,
    }
    assert read("level=error&severity=error")["severity"] == "error"


def test_blank_values_mean_any(db):
    assert read("agent=&type=&since=&until=&range=&tz=&rule=&group=") == {"limit": 50}


def test_filtered_applies_each_parameter_with_since_inclusive_until_exclusive(db):
    session = make_session("codex")
    edge = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    early = make_event(session, timestamp=edge - timedelta(seconds=1))
    at_edge = make_event(session, timestamp=edge, rule="npm_error")
    late = make_event(session, timestamp=edge + timedelta(seconds=1), event_type="warning")

    def ids(query: str) -> set[int]:
        return set(ExtractionEvent.objects.filtered(read(query)).values_list("id", flat=True))

    assert ids("until=2026-11-26T10:00:00Z") == {early.id}
    assert ids("since=2026-11-26T10:00:00Z") == {at_edge.id, late.id}
    assert ids("since=2026-11-26T11:00:00%2B01:00&until=2026-11-26T10:00:01Z") == {at_edge.id}
    assert ids("rule=npm_error") == {at_edge.id}
    assert ids("type=warning") == {late.id}
    assert ids(f"session={session.session_id}&agent=codex") == {early.id, at_edge.id, late.id}
    assert ids("agent=claude") == set()
