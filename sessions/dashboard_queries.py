"""Read-only queries behind the dashboard pages (overview, sessions, events, code blocks).

Kept out of the views so each view stays "parse the request, call one function, render". Every
list that can grow large pages by a keyset cursor, not OFFSET, and never counts the whole table.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from extraction.models import (
    CodeBlock,
    EventType,
    ExtractionEvent,
    ReviewStatus,
    RiskLevel,
    Severity,
)

from .models import ProcessSession, SessionStatus

EVENTS_PAGE_SIZE = 50
SESSIONS_PAGE_SIZE = 25
CODE_BLOCKS_PAGE_SIZE = 20


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


# Events


@dataclass
class EventFilter:
    agent: str = ""
    session: str = ""
    type: str = ""
    severity: str = ""
    risk: str = ""
    review: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    errors: list[str] = field(default_factory=list)

    CHOICES = {
        "type": EventType.values,
        "severity": Severity.values,
        "risk": RiskLevel.values,
        "review": ReviewStatus.values,
    }

    @classmethod
    def from_query(cls, params) -> EventFilter:
        f = cls(
            agent=params.get("agent", "").strip()[:100],
            session=params.get("session", "").strip()[:160],
            q=params.get("q", "").strip()[:200],
        )
        for name, allowed in cls.CHOICES.items():
            value = params.get(name, "")
            if value in allowed:
                setattr(f, name, value)
            elif value:
                f.errors.append(f"unknown {name} {value!r}")
        for name in ("since", "until"):
            raw = params.get(name, "").strip()
            if raw:
                moment = _parse_moment(raw, end_of_day=name == "until")
                if moment is None:
                    f.errors.append(f"{name} must be a date or date-time (YYYY-MM-DD[THH:MM])")
                setattr(f, name, moment)
        return f

    def apply(self, qs):
        if self.agent:
            qs = qs.filter(agent_name=self.agent)
        if self.session:
            qs = qs.filter(session__session_id=self.session)
        if self.type:
            qs = qs.filter(event_type=self.type)
        if self.severity:
            qs = qs.filter(severity=self.severity)
        if self.risk:
            qs = qs.filter(risk_level=self.risk)
        if self.review:
            qs = qs.filter(review_status=self.review)
        if self.since:
            qs = qs.filter(timestamp__gte=self.since)
        if self.until:
            qs = qs.filter(timestamp__lte=self.until)
        if self.q:
            qs = qs.search(self.q, limit=EVENTS_PAGE_SIZE)
        return qs

    def as_dict(self) -> dict:
        """The filters as the page's JS applies them to live events (same names as the URL)."""
        return {
            "agent": self.agent,
            "session": self.session,
            "type": self.type,
            "severity": self.severity,
            "risk": self.risk,
            "review": self.review,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "q": self.q,
        }

    @property
    def active(self) -> bool:
        return any(v for k, v in self.as_dict().items())


@dataclass
class EventPage:
    events: list
    next_cursor: str | None
    is_first: bool


def encode_cursor(event: ExtractionEvent) -> str:
    raw = f"{event.timestamp.isoformat()}|{event.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        stamp, pk = raw.rsplit("|", 1)
        moment = parse_datetime(stamp)
        return (moment, int(pk)) if moment else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def events_page(f: EventFilter, cursor: str = "", size: int = EVENTS_PAGE_SIZE) -> EventPage:
    """One page of events, newest first, strictly older than `cursor` (keyset pagination).

    Ordering by (timestamp, id) matches the `ee_time` index, so page 2,000 costs what page 1
    does; there is no OFFSET and no COUNT over the filtered set.
    """
    qs = f.apply(ExtractionEvent.objects.select_related("session")).order_by("-timestamp", "-id")
    after = decode_cursor(cursor) if cursor else None
    if after:
        moment, pk = after
        qs = qs.filter(Q(timestamp__lt=moment) | Q(timestamp=moment, id__lt=pk))
    rows = list(qs[: size + 1])
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return EventPage(events=rows[:size], next_cursor=next_cursor, is_first=after is None)


def event_agent_names() -> list[str]:
    return agent_names()


# Code blocks


def code_blocks(language: str = "", q: str = ""):
    qs = CodeBlock.objects.order_by("-last_seen", "-id")
    if language:
        qs = qs.filter(language=language)
    if q:
        qs = qs.filter(content__icontains=q)
    return qs


def code_block_languages() -> list[str]:
    return list(
        CodeBlock.objects.exclude(language="")
        .order_by("language")
        .values_list("language", flat=True)
        .distinct()
    )


def _looks_like_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def _parse_day(value: str) -> date | None:
    try:
        return parse_date(value) if _looks_like_date(value) else None
    except ValueError:
        return None


def _parse_moment(value: str, *, end_of_day: bool) -> datetime | None:
    try:
        moment = parse_datetime(value)
        if moment is None and _looks_like_date(value):
            day = _parse_day(value)
            if day:
                moment = datetime.combine(day, time.max if end_of_day else time.min)
    except ValueError:
        return None
    if moment is not None and end_of_day and len(value) == 16:
        # "until 10:15" from a datetime-local input means the whole of that minute.
        moment = moment.replace(second=59, microsecond=999999)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
