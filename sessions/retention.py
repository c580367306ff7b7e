"""Retention: forget finished sessions older than a cutoff, a few hundred rows at a time.

A busy installation keeps millions of events, and SQLite has one writer: deleting a month of
them in one statement would hold the write lock for minutes while every tap waits. So each
transaction here deletes at most ``batch_size`` rows, and taps slip their own batches in
between. Live sessions are never touched, whatever their age: their tap is still writing.

The order per session is events, state changes, recording, session row. The recording goes
before the row because ``recover`` adopts any recording no session points at: deleting the row
first would leave a window in which a crash brings the session back as "lost". A crash at any
other point leaves a session that the next run deletes (a missing file is not an error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone

from extraction.models import CodeBlock, ExtractionEvent

from .models import LIVE_STATUSES, ProcessSession, ProcessStateChange

BATCH_SIZE = 500
INDEX_SUFFIX = ".idx"  # the replay index kept beside a recording (sessions/replay.py)

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` (also ``s`` and ``w``) as a timedelta; ValueError otherwise."""
    match = _AGE_RE.match(text or "")
    if not match:
        raise ValueError(f"{text!r}: expected a number and a unit, e.g. 30d, 12h or 90m")
    age = timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    if age <= timedelta(0):
        raise ValueError(f"{text!r}: the age must be more than zero")
    return age


def default_age() -> timedelta | None:
    days = getattr(settings, "STREAMTAP", {}).get("RETENTION_DAYS") or 0
    return timedelta(days=days) if days > 0 else None


def prunable_sessions(cutoff: datetime):
    """Finished sessions that ended before the cutoff (a session without an end: its start)."""
    return (
        ProcessSession.objects.exclude(status__in=LIVE_STATUSES)
        .alias(finished_at=Coalesce(F("ended_at"), F("started_at")))
        .filter(finished_at__lt=cutoff)
    )


def unreferenced_code_blocks(cutoff: datetime):
    """Code blocks last seen before the cutoff that no remaining event points at."""
    referenced = ExtractionEvent.objects.filter(code_block=OuterRef("pk"))
    return CodeBlock.objects.filter(last_seen__lt=cutoff).filter(~Exists(referenced))


@dataclass
class PruneResult:
    sessions: int = 0
    events: int = 0
    state_changes: int = 0
    recordings: int = 0
    code_blocks: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sessions} sessions, {self.events} events, {self.state_changes} state "
            f"changes, {self.recordings} recording files, {self.code_blocks} code blocks"
        )


def recording_files(session: ProcessSession) -> list[Path]:
    """The session's recording and its replay index, those that exist."""
    if not session.recording_path:
        return []
    path = Path(session.recording_path)
    return [p for p in (path, path.with_name(path.name + INDEX_SUFFIX)) if p.is_file()]


def _delete_in_batches(queryset, batch_size: int) -> int:
    """Delete the rows of ``queryset`` ``batch_size`` at a time, one short transaction each."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            # Re-apply the filter: a row may have changed since it matched (e.g. a code block
            # that an event started to reference).
            deleted += queryset.filter(pk__in=ids).delete()[0]


def prune_session(session: ProcessSession, batch_size: int = BATCH_SIZE) -> PruneResult:
    """Delete one finished session, its events, state changes and recording files."""
    result = PruneResult()
    result.events = _delete_in_batches(
        ExtractionEvent.objects.filter(session_id=session.pk), batch_size
    )
    result.state_changes = _delete_in_batches(
        ProcessStateChange.objects.filter(session_id=session.pk), batch_size
    )
    shared = (
        session.recording_path
        and ProcessSession.objects.filter(recording_path=session.recording_path)
        .exclude(pk=session.pk)
        .exists()
    )
    if not shared:
        for path in recording_files(session):
            path.unlink(missing_ok=True)
            result.recordings += path.suffix != INDEX_SUFFIX
    # Anything that arrived meanwhile (a late `recover`) goes with the row, by cascade.
    with transaction.atomic():
        _, by_model = (
            ProcessSession.objects.filter(pk=session.pk).exclude(status__in=LIVE_STATUSES).delete()
        )
    result.sessions = by_model.get(ProcessSession._meta.label, 0)
    return result


def prune(
    older_than: timedelta,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    progress=None,
) -> PruneResult:
    """Delete finished sessions older than ``older_than`` and code blocks nobody uses any more.

    With ``dry_run``, count what would go and delete nothing. ``progress(session, result)`` is
    called after each session (the command prints a line).
    """
    cutoff = (now or timezone.now()) - older_than
    total = PruneResult()
    sessions = prunable_sessions(cutoff).order_by("pk")
    if dry_run:
        # Subqueries, not lists of ids: a first run may cover a hundred thousand sessions.
        doomed = sessions.values("pk")
        total.sessions = sessions.count()
        total.events = ExtractionEvent.objects.filter(session__in=doomed).count()
        total.state_changes = ProcessStateChange.objects.filter(session__in=doomed).count()
        total.recordings = sum(
            bool(recording_files(s)) for s in sessions.only("pk", "recording_path").iterator()
        )
        # Blocks that would lose their last reference count too.
        remaining = ExtractionEvent.objects.filter(code_block=OuterRef("pk")).exclude(
            session__in=doomed
        )
        total.code_blocks = (
            CodeBlock.objects.filter(last_seen__lt=cutoff).filter(~Exists(remaining)).count()
        )
        return total
    # One session at a time, re-queried each round (by ascending pk, so a session that could
    # not be deleted is not tried forever): a long run never holds a big result set.
    last_pk = 0
    while session := (
        sessions.filter(pk__gt=last_pk).only("pk", "session_id", "recording_path").first()
    ):
        last_pk = session.pk
        done = prune_session(session, batch_size)
        for name in ("sessions", "events", "state_changes", "recordings"):
            setattr(total, name, getattr(total, name) + getattr(done, name))
        if progress:
            progress(session, done)
    total.code_blocks = _delete_in_batches(unreferenced_code_blocks(cutoff), batch_size)
    return total
