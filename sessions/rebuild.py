"""Rebuilding the database from what is on disk: recordings (the write-ahead log) and spill files.

Used by ``recover`` (sessions whose tap died, events a down database did not take) and
``import_cast`` (recordings made elsewhere). Everything here is idempotent: running it twice
stores nothing twice.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from extraction.engine import Pipeline, RuleSet, load_rules, replay_recording
from extraction.models import decide_passed_prompt

from .models import LIVE_STATUSES, ProcessSession, SessionStatus
from .persistence import EventInserter, SessionSpec
from .recording import (
    AsciicastWriter,
    RecordingError,
    checked_header,
    iter_events,
    read_header,
)

INSERT_CHUNK = 2000


@dataclass
class RebuildResult:
    session: ProcessSession
    new_events: int
    total_events: int
    lines: int
    end_offset: float  # seconds from the start to the recording's last event


def _insert_rows(session: ProcessSession, rows: list[dict]) -> int:
    inserter = EventInserter()
    new = 0
    for i in range(0, len(rows), INSERT_CHUNK):
        with transaction.atomic():
            new += len(inserter.insert(session.pk, rows[i : i + INSERT_CHUNK]))
    return new


def refresh_counts(session: ProcessSession) -> dict:
    return session.refresh_counts()


def recording_pipeline(*, rules: RuleSet | None = None, redact: bool = False, **clock) -> Pipeline:
    """The pipeline a recording is replayed through (recover, import_cast): the tap's, with the
    stream redacted here when the recording was not (an imported file); ``clock`` and the rest
    are ``Pipeline``'s (screen_size, cwd, agent_name, started_at, recorder, on_events)."""
    return Pipeline(rules=rules, redact=redact, **clock)


def extract_recording(
    session: ProcessSession,
    path: str | os.PathLike,
    rules: RuleSet | None = None,
    recorder: AsciicastWriter | None = None,
    redact: bool = False,
) -> RebuildResult:
    """Run the extractor over a recording exactly as the live tap did and store what is missing.

    With ``recorder``, the output (and resizes) are written to a new recording with a marker per
    event, which is how an imported file gets its markers; with ``redact`` too, that recording
    holds the output redacted as a tap's does.
    """
    rows: list[dict] = []
    pipeline = recording_pipeline(
        rules=rules,
        redact=redact,
        # A PTY session's prompts came from the rendered screen: replay needs the same emulator.
        screen_size=(session.term_cols, session.term_rows) if session.mode == "pty" else None,
        cwd=session.cwd or None,
        agent_name=session.agent_name,
        started_at=session.started_at.timestamp(),
        recorder=recorder,
        on_events=rows.extend,
    )
    screen = pipeline.screen

    def other(ev) -> None:
        if ev.code == "r":
            cols, _, rows_ = ev.data.partition("x")
            if cols.isdigit() and rows_.isdigit():
                if recorder is not None:
                    recorder.resize(ev.offset, int(cols), int(rows_))
                if screen is not None:
                    screen.resize(int(cols), int(rows_))
        elif ev.code == "i" and recorder is not None:
            recorder.input(ev.offset, ev.data)

    end = replay_recording(pipeline, iter_events(path), on_other=other)
    for row in rows:
        decide_passed_prompt(row, row["timestamp"])  # as the live tap stored it
    new = _insert_rows(session, rows)
    counts = refresh_counts(session)
    ProcessSession.objects.filter(pk=session.pk).update(
        total_lines_processed=pipeline.lines, bytes_out=max(session.bytes_out, pipeline.chars)
    )
    session.total_lines_processed = pipeline.lines
    return RebuildResult(session, new, sum(counts.values()), pipeline.lines, end)


def tap_is_alive(session: ProcessSession, stale_seconds: float) -> bool:
    """A live tap is on this host with its pid running, or elsewhere with a recent heartbeat."""
    start = session.state_changes.filter(state=SessionStatus.RUNNING).order_by("timestamp").first()
    tap_pid = (start.metadata or {}).get("tap_pid") if start else None
    if session.host == socket.gethostname() and tap_pid:
        try:
            os.kill(int(tap_pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    beat = session.last_heartbeat or session.started_at
    return (timezone.now() - beat).total_seconds() < stale_seconds


def mark_lost(session: ProcessSession, rules: RuleSet | None) -> RebuildResult | None:
    """Re-extract a dead tap's recording (nothing missing, nothing twice) and mark it lost."""
    result = None
    ended = None
    path = session.recording_path
    if path and Path(path).exists():
        try:
            result = extract_recording(session, path, rules)
            ended = session.started_at + timedelta(seconds=result.end_offset)
        except RecordingError:
            result = None
    session.refresh_from_db()
    session.finish(status=SessionStatus.LOST, exit_code=None, ended_at=ended or timezone.now())
    return result


def load_spill(path: Path, rules: RuleSet | None) -> ProcessSession:
    """Load a spill file written by a tap whose database was unavailable at exit."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    head = next(r for r in records if r["kind"] == "session")
    spec = SessionSpec(**head["spec"])
    session = None
    if head.get("session_id"):
        session = ProcessSession.objects.filter(session_id=head["session_id"]).first()
    if session is None:
        session = ProcessSession.objects.filter(recording_path=spec.recording_path).first()
    if session is None:
        session = ProcessSession.start(spec.agent_name, tap_pid=spec.tap_pid, **spec.as_fields())
    rows, states = [], []
    for r in records:
        if r["kind"] == "event":
            row = r["row"]
            row["timestamp"] = datetime.fromisoformat(row["timestamp"])
            rows.append(row)
        elif r["kind"] == "state":
            states.append((r["state"], r["metadata"], datetime.fromtimestamp(r["at"], tz=UTC)))
    # The rows first, as the tap's writer stores them: a state may mark its prompt's row.
    _insert_rows(session, rows)
    session.change_states(states)
    # The recording may hold events the tap never handed to the writer (a full buffer).
    if spec.recording_path and Path(spec.recording_path).exists():
        extract_recording(session, spec.recording_path, rules)
    finish = next((r for r in records if r["kind"] == "finish"), None)
    if finish and finish.get("finish"):
        f = finish["finish"]
        session.refresh_from_db()
        session.finish(
            status=f["status"],
            exit_code=f["exit_code"],
            exit_signal=f["exit_signal"],
            ended_at=datetime.fromtimestamp(f["ended_at"], tz=UTC),
            stats=finish.get("stats"),
        )
    return session


def is_inside(path: Path, folder: Path) -> bool:
    """``path`` is a file of ``folder`` itself: no symbolic link on the way leads out of it."""
    try:
        return not path.is_symlink() and path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def adopt_orphan_recording(path: Path, rules: RuleSet | None) -> ProcessSession | None:
    """A recording no session points at: its tap died before the database ever answered."""
    try:
        header = checked_header(path)
    except (RecordingError, OSError):
        return None
    agent = path.stem.rsplit("-", 3)[0] or "unknown"
    started = float(header.get("timestamp") or path.stat().st_mtime)
    session = ProcessSession.start(
        agent,
        started_at=datetime.fromtimestamp(started, tz=UTC),
        recording_path=str(path),
        command_line=str(header.get("command", "")),
        term_cols=header["width"] or 80,
        term_rows=header["height"] or 24,
    )
    mark_lost(session, rules)
    return session


def import_file(
    path: Path, *, agent_name: str, rules: RuleSet | None, recordings_dir: str | os.PathLike
) -> RebuildResult:
    """An asciicast (v2/v3) or a plain log becomes a completed session with a v2 recording."""
    is_cast = True
    try:
        read_header(path)
    except (RecordingError, UnicodeDecodeError):
        is_cast = False
    header = {}
    if is_cast:
        # Every line is checked before a session exists: a bad file leaves nothing behind.
        header = checked_header(path)
        for _ in iter_events(path, strict=True):
            pass
    started = float(header.get("timestamp") or path.stat().st_mtime)
    cols, rows = header.get("width") or 80, header.get("height") or 24
    target = Path(recordings_dir) / "imported" / f"{path.stem}-{int(time.time() * 1000)}.cast"
    session = ProcessSession.start(
        agent_name,
        started_at=datetime.fromtimestamp(started, tz=UTC),
        recording_path=str(target),
        command_line=str(header.get("command") or f"import {path.name}"),
        term_cols=cols,
        term_rows=rows,
        host=socket.gethostname(),
        mode="import",
    )
    recorder = AsciicastWriter(
        target,
        width=cols,
        height=rows,
        started=started,
        title=str(header.get("title") or path.name),
        command=str(header.get("command") or ""),
    )
    try:
        source = path if is_cast else _log_as_cast(path, started, cols, rows, target.parent)
        result = extract_recording(session, source, rules, recorder=recorder, redact=True)
    except BaseException:
        session.finish(status=SessionStatus.FAILED, exit_code=None, ended_at=timezone.now())
        raise
    finally:
        recorder.close()
        if not is_cast and "source" in locals() and source != path:
            Path(source).unlink(missing_ok=True)
    session.refresh_from_db()
    session.finish(
        status=SessionStatus.COMPLETED,
        exit_code=None,
        ended_at=session.started_at + timedelta(seconds=result.end_offset),
    )
    return result


def _log_as_cast(path: Path, started: float, cols: int, rows: int, workdir: Path) -> Path:
    """A plain log as a one-chunk-per-64-KiB recording at time 0 (it has no timing)."""
    import codecs

    # Beside the imported recordings, not the log: its folder may be read-only (/var/log).
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = workdir / f".{path.name}.{os.getpid()}.tmp.cast"
    writer = AsciicastWriter(tmp, width=cols, height=rows, started=started)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with open(path, "rb") as f:
        while chunk := f.read(65536):
            text = decoder.decode(chunk)
            if text:
                writer.output(0.0, text)
        tail = decoder.decode(b"", final=True)
        if tail:
            writer.output(0.0, tail)
    writer.close()
    return tmp


def rules_from(path: str | None) -> RuleSet:
    return load_rules(path or settings.STREAMTAP["RULES_FILE"] or None)


def stale_sessions(stale_seconds: float):
    # A session the server marked lost (its tap stopped beating: sessions/liveness.py) keeps
    # ended_at empty until its events are rebuilt from the recording here.
    marked = ProcessSession.objects.filter(status=SessionStatus.LOST, ended_at__isnull=True)
    for session in ProcessSession.objects.filter(status__in=LIVE_STATUSES) | marked:
        if not tap_is_alive(session, stale_seconds):
            yield session


def known_recordings() -> set[str]:
    return set(
        ProcessSession.objects.exclude(recording_path="").values_list("recording_path", flat=True)
    )
