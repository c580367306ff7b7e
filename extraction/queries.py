"""Read-side queries for the Events page, the API and the admin: pages of events, counts and an
agent's statistics. Which events a filter selects is ExtractionEventQuerySet.filtered().

Each function is one or two SQL statements shaped to use the indexes in extraction/models.py and
sessions/models.py; bench/bench_api.py prints their query plans at 1M events.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils.dateparse import parse_datetime

from sessions.models import ProcessSession, ProcessStateChange, SessionStatus

from .models import CodeBlock, EventType, ExtractionEvent, ReviewStatus, RiskLevel

# A rule is flagged only when this many of its events have been judged (confirmed or false
# positive): one false positive out of one review says nothing about a rule.
MIN_JUDGED_FOR_FLAG = 5
TOP_RULES = 10

FINISHED_STATUSES = (
    SessionStatus.COMPLETED,
    SessionStatus.FAILED,
    SessionStatus.KILLED,
    SessionStatus.LOST,
)


def events_for_api():
    # One query per page: the joined rows give the session id, reviewer and code block hash.
    return ExtractionEvent.objects.select_related("session", "reviewed_by", "code_block")


# --- The Events page: a keyset page and a bounded count ------------------------------------

EVENTS_PAGE_SIZE = 50
# The page counts the matching events up to this many and then says "10,000+": the count of
# a window ("the last hour") is exact, and no count walks the whole table (a common value such
# as type=warning has no index of its own: counting it reads the rows).
COUNT_CAP = 10_000


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


def older_than(queryset, moment: datetime, pk: int):
    """Events after (timestamp, id) in newest-first order: a keyset step, never an OFFSET."""
    return queryset.filter(Q(timestamp__lt=moment) | Q(timestamp=moment, id__lt=pk))


def events_page(params: dict, cursor: str = "", size: int = EVENTS_PAGE_SIZE) -> EventPage:
    """One page of events, newest first, strictly older than `cursor` (keyset pagination).

    Ordering by (timestamp, id) matches the `ee_time` index, so page 2,000 costs what page 1
    does; there is no OFFSET.
    """
    queryset = ExtractionEvent.objects.select_related("session").filtered(params)
    queryset = queryset.order_by("-timestamp", "-id")
    after = decode_cursor(cursor) if cursor else None
    if after:
        queryset = older_than(queryset, *after)
    rows = list(queryset[: size + 1])
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return EventPage(events=rows[:size], next_cursor=next_cursor, is_first=after is None)


def events_count(params: dict) -> tuple[int, bool]:
    """(number of matching events up to COUNT_CAP, whether there are more)."""
    n = ExtractionEvent.objects.filtered(params).count_up_to(COUNT_CAP)
    return min(n, COUNT_CAP), n > COUNT_CAP


# --- The Code blocks page ------------------------------------------------------------------

CODE_BLOCKS_PAGE_SIZE = 20


def code_blocks(language: str = "", q: str = ""):
    queryset = CodeBlock.objects.order_by("-last_seen", "-id")
    if language:
        queryset = queryset.filter(language=language)
    if q:
        queryset = queryset.filter(content__icontains=q)
    return queryset


def code_block_languages() -> list[str]:
    return list(
        CodeBlock.objects.exclude(language="")
        .order_by("language")
        .values_list("language", flat=True)
        .distinct()
    )


def agent_names() -> list[str]:
    return list(
        ProcessSession.objects.order_by("agent_name")
        .values_list("agent_name", flat=True)
        .distinct()
    )


def precision_threshold() -> float:
    return float(settings.STREAMTAP["PRECISION_THRESHOLD"])


def rule_outcome(rule: str, counts: dict[str, int]) -> dict:
    """One rule's review outcome, its precision and whether it is flagged for fixing."""
    confirmed = counts.get(ReviewStatus.CONFIRMED, 0)
    false_positive = counts.get(ReviewStatus.FALSE_POSITIVE, 0)
    judged = confirmed + false_positive
    precision = round(confirmed / judged, 4) if judged else None
    return {
        "rule": rule,
        "total": sum(counts.values()),
        "pending": counts.get(ReviewStatus.PENDING, 0),
        "confirmed": confirmed,
        "rejected": counts.get(ReviewStatus.REJECTED, 0),
        "false_positive": false_positive,
        "judged": judged,
        "precision": precision,
        "flagged": judged >= MIN_JUDGED_FOR_FLAG and precision < precision_threshold(),
    }


def rule_outcomes(queryset=None) -> dict[str, dict]:
    """Review outcome per rule over `queryset` (all events by default), keyed by rule.

    GROUP BY (rule, review_status) reads only the ee_rule_time index.
    """
    queryset = ExtractionEvent.objects.all() if queryset is None else queryset
    by_rule: dict[str, dict[str, int]] = defaultdict(dict)
    rows = queryset.order_by().values_list("rule", "review_status").annotate(n=Count("id"))
    for rule, status, n in rows:
        by_rule[rule][status] = n
    return {rule: rule_outcome(rule, counts) for rule, counts in sorted(by_rule.items())}


def agent_session_stats(agent_name: str) -> dict:
    """One read of the agent's sessions (ps_agent_started), folded in Python.

    An agent has a few thousand sessions at most; one pass over them replaces a query per
    figure, and durations in Python avoid each database's own idea of datetime arithmetic.
    """
    rows = (
        ProcessSession.objects.filter(agent_name=agent_name)
        .order_by()
        .values_list("status", "exit_code", "total_lines_processed", "started_at", "ended_at")
    )
    by_status: Counter = Counter()
    lines = succeeded = 0
    durations = []
    for status, exit_code, total_lines, started_at, ended_at in rows:
        by_status[status] += 1
        lines += total_lines or 0
        if status in FINISHED_STATUSES and ended_at is not None:
            durations.append((ended_at - started_at).total_seconds())
            if status == SessionStatus.COMPLETED and exit_code == 0:
                succeeded += 1
    n_finished = sum(by_status.get(status, 0) for status in FINISHED_STATUSES)
    return {
        "total": sum(by_status.values()),
        "finished": n_finished,
        "succeeded": succeeded,
        "success_rate": round(succeeded / n_finished, 4) if n_finished else None,
        "mean_duration_seconds": round(sum(durations) / len(durations), 3) if durations else None,
        "total_lines": lines,
        "by_status": dict(sorted(by_status.items())),
    }


def agent_prompt_wait(agent_name: str) -> dict:
    """Time blocked on prompts, per rule, from the tap's `prompt_answered` state changes."""
    answers = (
        ProcessStateChange.objects.filter(session__agent_name=agent_name, state="prompt_answered")
        .order_by()
        .values_list("metadata", flat=True)
    )
    prompts: Counter = Counter()
    waited: Counter = Counter()
    for meta in answers:
        rule = str((meta or {}).get("rule", "unknown"))
        prompts[rule] += 1
        waited[rule] += float((meta or {}).get("wait_seconds") or 0.0)
    return {
        "total_seconds": round(sum(waited.values()), 3),
        "by_rule": [
            {"rule": rule, "prompts": prompts[rule], "wait_seconds": round(waited[rule], 3)}
            for rule in sorted(prompts, key=lambda r: (-waited[r], r))
        ],
    }


def agent_stats(agent_name: str) -> dict | None:
    """Everything the stats endpoint reports for one agent; None if the agent is unknown."""
    session_stats = agent_session_stats(agent_name)
    # One pass over the agent's events: grouped by every dimension we report, then folded in
    # Python. The groups are few (types x risks x rules x statuses), the rows many.
    rows = (
        ExtractionEvent.objects.filter(agent_name=agent_name)
        .order_by()
        .values_list("event_type", "risk_level", "rule", "review_status")
        .annotate(n=Count("*"))
    )
    by_type: Counter = Counter({value: 0 for value in EventType.values})
    by_risk: Counter = Counter({value: 0 for value in RiskLevel.values})
    per_rule: Counter = Counter()
    outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event_type, risk_level, rule, status, n in rows:
        by_type[event_type] += n
        by_risk[risk_level] += n
        per_rule[rule] += n
        outcomes[rule][status] += n
    if session_stats["total"] == 0 and not per_rule:
        return None
    return {
        "agent": agent_name,
        "prompt_wait": agent_prompt_wait(agent_name),
        "sessions": session_stats,
        "events": {
            "total": sum(per_rule.values()),
            "by_type": dict(by_type),
            "by_risk": dict(by_risk),
        },
        "top_rules": [
            {"rule": rule, "count": count}
            for rule, count in sorted(per_rule.items(), key=lambda item: (-item[1], item[0]))[
                :TOP_RULES
            ]
        ],
        "rules": [rule_outcome(rule, dict(counts)) for rule, counts in sorted(outcomes.items())],
        "precision_threshold": precision_threshold(),
        "min_judged": MIN_JUDGED_FOR_FLAG,
    }
