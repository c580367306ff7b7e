"""Indexing what a program printed: the recording's output, line by line, into ``output_lines``.

The recording is the write-ahead log and is already redacted, so the indexer tails it rather
than sitting in the tap's per-chunk path (which must never touch the database): the tap's writer
process calls ``after_batch`` once per committed batch, with a small time budget; the server's
sweep (``catch_up_recent``, sessions/liveness.py) and its searches, ``recover``/``import_cast``
and ``manage.py index_output`` index whatever is left. Every call resumes from
``OutputIndexState`` and writes ``INSERT … ON CONFLICT DO NOTHING``, so running two at once or
twice over is harmless.

Lines are numbered as the extractor numbers them (1 + the newlines before), stored ANSI-stripped
with carriage returns resolved (``extraction.engine.text.clean_line``), blank lines left out.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError, connection, transaction

from extraction.engine.text import PartialLine, clean_line, clean_region
from sessions.models import LIVE_STATUSES, ProcessSession
from sessions.recording import RecordingError
from sessions.replay import Cursor, RecordingIndex

from .models import OutputIndexState, OutputLine

log = logging.getLogger(__name__)

# A stored line is cut here: enough to find and show it, and a 64 KiB line of a minified file
# does not cost its size again in the trigram index.
MAX_TEXT = 4096
READ_BYTES = 256 * 1024
BATCH_LINES = 5000
# In the tap's writer process: per committed batch, and once more when the program has ended.
# The rest (a flood of output) is left to the web side and `index_output`: the writer's own work,
# the events, comes first.
WRITER_BATCH_BUDGET = 0.05
WRITER_FINAL_BUDGET = 0.5
# More recording than this not indexed yet is a flood, whatever the writer's own backlog: the
# extraction is then the tap's bottleneck and every core is busy, so the writer's "spare" time
# indexing output is taken from the extraction's CPU (heavy input, 2 cores, interleaved: the
# tap's end 3.20 -> 3.03 s with --pipe, 4.13 -> 3.71 s with --pty). An agent's or a build's
# output stays far below it.
WRITER_FLOOD_BYTES = 1 << 20
# Controls other than tab and the newline (NUL cannot be stored in PostgreSQL text at all).
_CONTROLS = {c: None for c in range(32) if c not in (9, 10)} | {127: None}


@dataclass(slots=True)
class Line:
    number: int
    offset: float
    oseq: int
    byte: int
    col: int
    text: str


def line_text(raw: str) -> str:
    return clean_line(raw).translate(_CONTROLS).rstrip()[:MAX_TEXT]


class LineSplitter:
    """Recording output chunks → complete, numbered lines (no Django, no I/O)."""

    def __init__(
        self, *, lines: int = 0, oseq: int = 0, partial: str = "", start: tuple | None = None
    ):
        self.lines = lines
        self.oseq = oseq
        self.partial = PartialLine()
        self.partial.append(partial)
        # Where the current line starts, (oseq, byte, col); None: at the next chunk's start.
        self.start = start

    def feed(self, offset: float, byte: int, data: str) -> list[Line]:
        """One "o" chunk, which starts at ``byte`` in the recording."""
        self.oseq += 1
        if self.start is None:
            self.start = (self.oseq, byte, 0)
        last_nl = data.rfind("\n")
        if last_nl < 0:
            self.partial.append(data)
            return []
        found: list[Line] = []
        raw_pieces = data[:last_nl].split("\n")
        # Cleaned as one region (as the extractor does): one regex pass instead of one per line.
        head = self.partial.take() + raw_pieces[0] if self.partial.raw else raw_pieces[0]
        region = head + data[len(raw_pieces[0]) : last_nl + 1]
        texts = clean_region(region).translate(_CONTROLS).split("\n")
        col = 0
        number = self.lines
        oseq = self.oseq
        start = self.start
        for piece, text in zip(raw_pieces, texts, strict=False):
            number += 1
            text = text.rstrip()
            if text:
                found.append(Line(number, offset, *start, text[:MAX_TEXT]))
            col += len(piece) + 1
            start = (oseq, byte, col)
        self.lines = number
        self.start = start if col < len(data) else None
        if col < len(data):
            self.partial.append(data[col:])
        return found

    def close(self, offset: float) -> list[Line]:
        """The end of the recording: an unterminated last line counts."""
        raw = self.partial.take()
        if not raw:
            return []
        self.lines += 1
        text = line_text(raw)
        return [Line(self.lines, offset, *self.start, text)] if text else []


_INSERT = (
    "INSERT INTO output_lines (session_id, line, offset_seconds, oseq, byte, col, text) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (session_id, line) DO NOTHING"
)

_INSERT_FTS = (
    "INSERT INTO output_lines_fts (rowid, text) SELECT id, text FROM output_lines WHERE id > %s"
)


class OutputIndexer:
    """Brings one session's rows up to the end of its recording, in resumable batches."""

    def __init__(self, session: ProcessSession):
        self.session = session
        self._index: RecordingIndex | None = None
        self.indexed_byte = 0  # where the last catch-up left the recording, as saved

    def unindexed_bytes(self) -> int:
        """How much of the recording lies beyond what this indexer saved (0 without one)."""
        path = self.session.recording_path
        try:
            size = Path(path).stat().st_size if path else 0
        except OSError:
            return 0
        return max(0, size - self.indexed_byte)

    def _recording(self) -> RecordingIndex | None:
        path = self.session.recording_path
        if not path or not Path(path).is_file():
            return None
        if self._index is None:
            try:
                self._index = RecordingIndex.open(path)
            except (RecordingError, OSError):
                return None
        return self._index

    def catch_up(self, *, budget_seconds: float | None = None, read_bytes: int = READ_BYTES) -> int:
        """Index what the recording holds beyond the saved position; the number of new lines.

        Stops after ``budget_seconds`` (at a batch boundary), or at the end of the recording,
        where an ended session's last unterminated line is indexed too and the state marked
        complete.
        """
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        state, _ = OutputIndexState.objects.get_or_create(session_id=self.session.pk)
        if state.complete:
            return 0
        index = self._recording()
        if index is None:
            if self._ended() and not self.session.has_recording:
                # Nothing to index, now or later (`index_output --rebuild` if it comes back).
                state.complete = True
                state.save(update_fields=["complete", "updated_at"])
            return 0
        if state.byte == 0:
            state.byte = index.header_end
        splitter = LineSplitter(
            lines=state.lines,
            oseq=state.oseq,
            partial=state.partial,
            start=(
                (state.partial_oseq, state.partial_byte, state.partial_col)
                if state.partial_oseq
                else None
            ),
        )
        cursor = Cursor(state.byte, state.clock)
        written = 0
        pending: list[Line] = []
        last_t = 0.0
        while True:
            frames, after = index.read(cursor, max_bytes=read_bytes)
            for frame in frames:
                if frame.code == "o":
                    pending += splitter.feed(frame.t, frame.start, frame.data)
                    last_t = frame.t
            at_end = after.byte == cursor.byte
            cursor = after
            if at_end:
                ended = self._ended()
                if ended:
                    pending += splitter.close(last_t)
                self._save(state, splitter, cursor, pending, complete=ended, size=index.size)
                written += len(pending)
                return written
            if len(pending) >= BATCH_LINES or (deadline and time.monotonic() >= deadline):
                self._save(state, splitter, cursor, pending, complete=False, size=index.size)
                written += len(pending)
                pending = []
                if deadline and time.monotonic() >= deadline:
                    return written

    def _ended(self) -> bool:
        status = (
            ProcessSession.objects.filter(pk=self.session.pk)
            .values_list("status", flat=True)
            .first()
        )
        return status is not None and status not in LIVE_STATUSES

    def _save(self, state, splitter: LineSplitter, cursor: Cursor, lines, *, complete, size):
        sid = self.session.pk
        with transaction.atomic():
            if lines:
                with connection.cursor() as c:
                    if connection.vendor == "sqlite":
                        c.execute("SELECT COALESCE(MAX(id), 0) FROM output_lines")
                        (before,) = c.fetchone()
                    c.executemany(
                        _INSERT,
                        [(sid, x.number, x.offset, x.oseq, x.byte, x.col, x.text) for x in lines],
                    )
                    if connection.vendor == "sqlite":
                        # The rows this transaction added (SQLite writes one at a time, and
                        # ids only grow), into the FTS table in one statement.
                        c.execute(_INSERT_FTS, [before])
            state.byte, state.clock = cursor.byte, cursor.clock
            state.lines, state.oseq = splitter.lines, splitter.oseq
            state.partial = splitter.partial.raw
            state.partial_oseq, state.partial_byte, state.partial_col = splitter.start or (0, 0, 0)
            state.complete = complete
            state.recording_size = size
            state.save()
        self.indexed_byte = cursor.byte


def index_recording(session: ProcessSession, *, rebuild: bool = False) -> int:
    """Index the whole recording of ``session`` (idempotent: resumes where indexing stopped)."""
    if rebuild:
        with transaction.atomic():
            OutputLine.objects.filter(session_id=session.pk).delete()
            OutputIndexState.objects.filter(session_id=session.pk).delete()
    return OutputIndexer(session).catch_up()


def ensure_indexed(session: ProcessSession, *, budget_seconds: float = 2.0) -> OutputIndexState:
    """Catch up before answering a request about ``session`` (a budget bounds the wait).

    A database busy with taps (a lock held too long) leaves the answer to what is indexed.
    """
    try:
        OutputIndexer(session).catch_up(budget_seconds=budget_seconds)
    except DatabaseError as exc:
        log.warning("output index of %s not brought up to date: %s", session.session_id, exc)
    return OutputIndexState.objects.get_or_create(session_id=session.pk)[0]


def catch_up_recent(*, budget_seconds: float = 1.0, limit: int = 20) -> None:
    """Before a search across sessions: index ended sessions the tap's writer left unfinished
    (a flood of output outran its budget, a session from before this index), newest first.
    Live sessions are the writer's: two indexers on one SQLite database would contend."""
    deadline = time.monotonic() + budget_seconds
    done = OutputIndexState.objects.filter(complete=True).values("session_id")
    behind = (
        ProcessSession.objects.exclude(recording_path="")
        .exclude(status__in=LIVE_STATUSES)
        .exclude(pk__in=done)
        .order_by("-started_at")[:limit]
    )
    for session in behind:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            OutputIndexer(session).catch_up(budget_seconds=left)
        except DatabaseError as exc:
            log.warning("output index of %s not brought up to date: %s", session.session_id, exc)
            return


# The tap's writer: one indexer per BatchWriter, dropped with it.
_writer_indexers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def after_batch(writer) -> None:
    """Called by the tap's BatchWriter after each committed batch (its only hook into here).

    Spends at most a fifth of the writer's time (and 50 ms a batch) while the program runs and
    the writer keeps up, and nothing while it is behind or the recording runs more than
    WRITER_FLOOD_BYTES ahead of the index. Once the session's end is stored, up to
    WRITER_FINAL_BUDGET, unless the writer fell behind during the session: the tap's end waits
    for this, and a flood's lines (82,000 on the heavy input: 1.2 s, a quarter of the writer's
    CPU) are the server's to index (its sweep, or a search). Never raises: the search index is
    derived data, and the events come first.
    """
    session = getattr(writer, "session", None)
    entry = _writer_indexers.get(writer)
    if entry is False or not isinstance(session, ProcessSession):
        return  # disabled after an error, or a store without a database (a remote tap)
    try:
        now = time.monotonic()
        if entry is None:
            entry = _writer_indexers[writer] = [OutputIndexer(session), now, False]
        indexer, last_end, fell_behind = entry
        if getattr(writer, "_stopping", False):
            budget = 0.0 if fell_behind else WRITER_FINAL_BUDGET
        elif writer.is_behind() or indexer.unindexed_bytes() > WRITER_FLOOD_BYTES:
            entry[2] = True
            budget = 0.0
        else:
            budget = min(WRITER_BATCH_BUDGET, (now - last_end) / 4)
        if budget > 0.002:
            indexer.catch_up(budget_seconds=budget)
        entry[1] = time.monotonic()
    except DatabaseError as exc:
        # A lock held by another writer, a connection lost: the next batch tries again.
        log.debug("output index not updated this time: %s", exc)
    except Exception as exc:  # noqa: BLE001 - a broken index must not stop the events
        log.warning("streamtap: output search index not updated (%s)", exc)
        _writer_indexers[writer] = False
