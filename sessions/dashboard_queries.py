"""Read-only queries behind the dashboard pages (overview, sessions, events, code blocks).

Kept out of the views so each view stays "parse the request, call one function, render". Every
list that can grow large pages by a keyset cursor, not OFFSET, and never counts the whole table.
The Events page's queries are extraction/queries.py's (one filter path with the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.utils import timezone
from django.utils.dateparse import parse_date

from extraction.models import (
    EventType,
    ExtractionEvent,
)

from .models import ProcessSession, SessionStatus

SESSIONS_PAGE_SIZE = 25


# Overview


def events_per_minute(minutes: int = 60) -> dict:
    """Counts per minute and type for the last `minutes`, as aligned series for a chart."""
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes - 1)
    rows = (
        ExtractionEvent.objects.filter(timestamp__gte=start)
        .annotate(minute=TruncMinute("timestamp"))
        .values("minute", "event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    slots = [start + timedelta(minutes=i) for i in range(minutes)]
    index = {slot: i for i, slot in enumerate(slots)}
    series = {t: [0] * minutes for t in EventType.values}
    for row in rows:
        i = index.get(row["minute"])
        if i is not None and row["event_type"] in series:
            series[row["event_type"]][i] = row["n"]
    return {"x": [int(s.timestamp()) for s in slots], "series": series}


def top_rules(days: int = 7, limit: int = 10) -> list[dict]:
    return list(
        ExtractionEvent.objects.since(days)
        .values("rule", "event_type")
        .annotate(n=Count("id"))
        .order_by("-n", "rule")[:limit]
    )


def sessions_over_time() -> dict:
    """Sessions started per hour (last 24 h) and per day (last 30 days)."""
    now = timezone.now()
    hour0 = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    day0 = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=29
    )

    def bucketed(start, step, count, trunc):
        rows = (
            ProcessSession.objects.filter(started_at__gte=start)
            .annotate(bucket=trunc("started_at"))
            .values("bucket")
            .annotate(n=Count("id"))
            .order_by()
        )
        slots = [start + step * i for i in range(count)]
        counts = dict.fromkeys(slots, 0)
        for row in rows:
            if row["bucket"] in counts:
                counts[row["bucket"]] = row["n"]
        return {"x": [int(s.timestamp()) for s in slots], "y": [counts[s] for s in slots]}

    return {
        "hourly": bucketed(hour0, timedelta(hours=1), 24, TruncHour),
        "daily": bucketed(day0, timedelta(days=1), 30, TruncDay),
    }


def high_risk_pending_count() -> int:
    # Uses the (risk_level, review_status, timestamp) index: a small range, not the table.
    return ExtractionEvent.objects.high_risk_pending().count()


def live_sessions(limit: int = 20):
    return ProcessSession.objects.live()[:limit]


# Sessions


@dataclass
class SessionFilter:
    agent: str = ""
    status: str = ""
    day: date | None = None
    q: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, params) -> SessionFilter:
        f = cls(agent=params.get("agent", "").strip()[:100], q=params.get("q", "").strip()[:200])
        status = params.get("status", "")
        if status in SessionStatus.values:
            f.status = status
        elif status:
            f.errors.append(f"unknown status {status!r}")
        if params.get("date"):
            f.day = _parse_day(params["date"])
            if f.day is None:
                f.errors.append("date must be YYYY-MM-DD")
        return f

    def apply(self, qs):
        if self.agent:
            qs = qs.for_agent(self.agent)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.day:
            start = timezone.make_aware(datetime.combine(self.day, time.min))
            qs = qs.filter(started_at__gte=start, started_at__lt=start + timedelta(days=1))
        if self.q:
            qs = qs.search(self.q)
        return qs

    def as_dict(self) -> dict:
        return {
            "agent": self.agent,
            "status": self.status,
            "date": self.day.isoformat() if self.day else "",
            "q": self.q,
        }


def sessions_list(f: SessionFilter):
    return f.apply(ProcessSession.objects.all()).order_by("-started_at", "-id")


def agent_names() -> list[str]:
    return list(
        ProcessSession.objects.order_by("agent_name")
        .values_list("agent_name", flat=True)
        .distinct()
    )


# Events: the Events page reads extraction/filters.py and extraction/queries.py, as the API
# does. These names stay one release for callers of the old module (deprecated).
from extraction.queries import EVENTS_PAGE_SIZE, EventPage, events_page  # noqa: E402, F401


def _looks_like_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def _parse_day(value: str) -> date | None:
    try:
        return parse_date(value) if _looks_like_date(value) else None
    except ValueError:
        return None
