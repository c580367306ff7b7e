"""Events written the way the tap's writer writes them, for the error-group tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from extraction.models import ErrorGroup
from sessions.persistence import EventInserter


def error_rows(
    n: int,
    start: datetime,
    first_seq: int = 1,
    agent: str = "a",
    message: str = "ERROR job {i} failed with code {i}3",
) -> list[dict]:
    """`n` occurrences of one problem, a second apart; `{i}` in the message varies."""
    return [
        {
            "seq": first_seq + i,
            "agent_name": agent,
            "event_type": "error",
            "rule": "log_error",
            "severity": "error",
            "risk_level": "high",
            "auto_confirmable": False,
            "line_start": i + 1,
            "line_end": i + 1,
            "content": message.format(i=i),
            "metadata": {},
            "timestamp": start + timedelta(seconds=i),
            "offset_seconds": float(i),
        }
        for i in range(n)
    ]


def insert(session, rows):
    with transaction.atomic():
        return EventInserter().insert(session.pk, rows)


def make_group(fingerprint: str, seen: datetime, **fields) -> ErrorGroup:
    """A problem made by hand, not by the writer: a Python ValueError, first and last seen at
    `seen`; `fields` override the rest."""
    values = {"title": "ValueError: boom", "risk_level": "medium", **fields}
    return ErrorGroup.objects.create(
        fingerprint=fingerprint,
        event_type="error",
        rule="python_traceback",
        first_seen=seen,
        last_seen=seen,
        **values,
    )
