"""Reading the output index: substring search over the lines, and a window of the recording.

A query is always a literal, case-insensitive substring (what a person types into a search box:
``E assert 4 == 5``, ``--no-verify``, ``"quoted"``), never query syntax: on SQLite it becomes
one quoted FTS5 phrase (trigram tokens, so any character may appear and nothing can be a syntax
error), on PostgreSQL an ``ILIKE`` pattern with ``%``, ``_`` and ``\\`` escaped. Both are bound
parameters. Queries shorter than three characters cannot use a trigram index and scan instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.db.models.expressions import RawSQL

from sessions.models import ProcessSession
from sessions.recording import RecordingError
from sessions.replay import Cursor, RecordingIndex

from .indexer import ensure_indexed
from .models import OutputLine

MIN_INDEXED_QUERY = 3
MAX_QUERY = 200
WINDOW_LINES = 200
MAX_WINDOW_LINES = 2000
MAX_WINDOW_CHARS = 4 << 20
WINDOW_INDEX_BUDGET = 15.0


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching_lines(query: str):
    """OutputLine rows whose text holds ``query`` (any case), served by the text index."""
    rows = OutputLine.objects.all()
    if connection.vendor == "sqlite":
        if len(query) >= MIN_INDEXED_QUERY:
            phrase = '"' + query.replace('"', '""') + '"'
            sql = "SELECT rowid FROM output_lines_fts WHERE output_lines_fts MATCH %s"
            return rows.filter(id__in=RawSQL(sql, [phrase]))
        # SQLite's LIKE ignores the case of ASCII letters only; fine for 1–2 characters.
        sql = "SELECT id FROM output_lines WHERE text LIKE %s ESCAPE '\\'"
    else:
        sql = "SELECT id FROM output_lines WHERE text ILIKE %s ESCAPE '\\'"
    return rows.filter(id__in=RawSQL(sql, [_like_pattern(query)]))


@dataclass(slots=True)
class Page:
    lines: list[OutputLine]
    next_after: str | None


def encode_after(line: OutputLine) -> str:
    return f"{line.session_id}.{line.line}"


def decode_after(text: str) -> tuple[int, int]:
    """ValueError unless ``text`` is what ``encode_after`` wrote."""
    session, _, line = text.partition(".")
    if not (session.isascii() and session.isdigit() and line.isascii() and line.isdigit()):
        raise ValueError("not a position")
    if len(session) > 18 or len(line) > 18:
        raise ValueError("not a position")
    return int(session), int(line)


def search(
    query: str,
    *,
    session: ProcessSession | None = None,
    after: tuple[int, int] | None = None,
    limit: int = 50,
) -> Page:
    """Matching lines, newest session first and in line order within one; keyset-paginated."""
    rows = matching_lines(query)
    if session is not None:
        rows = rows.filter(session=session)
    if after is not None:
        from django.db.models import Q

        s, n = after
        rows = rows.filter(Q(session_id__lt=s) | Q(session_id=s, line__gt=n))
    found = list(rows.select_related("session").order_by("-session_id", "line")[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    return Page(found, encode_after(found[-1]) if more and found else None)


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where ``query`` occurs in ``text``, any case: (start, end) character offsets."""
    if not query:
        return []
    return [m.span() for m in re.finditer(re.escape(query), text, re.IGNORECASE)]


def highlighted(text: str, query: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_match) for a template to mark up (it escapes each piece)."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in match_spans(text, query):
        if start > pos:
            pieces.append((text[pos:start], False))
        pieces.append((text[start:end], True))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces


# --- the terminal's window -------------------------------------------------------------------


class NoRecording(Exception):
    pass


@dataclass(slots=True)
class Window:
    first_line: int
    last_line: int
    total_lines: int
    text: str
    cols: int
    rows: int
    complete: bool


def output_window(
    session: ProcessSession, line: int, *, before: int = WINDOW_LINES, after: int = WINDOW_LINES
) -> Window:
    """The raw output (colours and all) of lines ``line - before`` … ``line + after``.

    The index gives the recording position of the nearest stored line at or before the first
    one wanted (blank lines have no row); from there the recording is read and newlines counted.
    Costs one indexed lookup and a read of about the window's size, whatever the session's length.
    """
    if not session.has_recording:
        raise NoRecording("no recording for this session")
    # The lines of an ended session are worth indexing to the end once (the total is then
    # known); a very long one is shown from what is indexed so far, and says so (complete).
    state = ensure_indexed(session, budget_seconds=WINDOW_INDEX_BUDGET)
    try:
        index = RecordingIndex.open(Path(session.recording_path))
    except (RecordingError, OSError) as exc:
        raise NoRecording("the recording of this session cannot be read") from exc
    total = state.lines + (1 if state.partial else 0)
    # As many lines as asked for near either end too: lines 1-400 around line 1, not 1-200.
    line = min(line, max(total, 1))
    first, last = line - before, line + after
    if first < 1:
        first, last = 1, last + 1 - first
    elif last > total >= first:
        first = max(1, first - (last - total))
    anchor = (
        OutputLine.objects.filter(session=session, line__lte=first)
        .order_by("-line")
        .values_list("line", "byte", "col")
        .first()
    )
    at_line, byte, col = anchor if anchor else (1, index.header_end, 0)
    cursor = Cursor(byte, 0.0)
    parts: list[str] = []
    size = 0
    first_t: float | None = None
    done = False
    while not done:
        frames, next_cursor = index.read(cursor, max_bytes=256 * 1024)
        if next_cursor.byte == cursor.byte:
            break
        cursor = next_cursor
        for frame in frames:
            if frame.code != "o":
                continue
            data = frame.data
            if col:
                data, col = data[col:], 0
            pos = 0
            # Skip to the first wanted line.
            while at_line < first:
                nl = data.find("\n", pos)
                if nl < 0:
                    pos = len(data)
                    break
                pos, at_line = nl + 1, at_line + 1
            if at_line < first:
                continue
            if first_t is None:
                first_t = frame.t
            # Take up to the end of the last wanted line.
            end = pos
            while at_line <= last:
                nl = data.find("\n", end)
                if nl < 0:
                    end = len(data)
                    break
                end, at_line = nl + 1, at_line + 1
            parts.append(data[pos:end])
            size += end - pos
            if at_line > last or size > MAX_WINDOW_CHARS:
                done = True
                break
    text = "".join(parts)
    shown_last = first + text.count("\n") - (1 if text.endswith("\n") else 0)
    cols, rows = index.size_at(first_t or 0.0)
    return Window(
        first_line=first,
        last_line=max(first, shown_last),
        total_lines=max(total, shown_last),
        text=text,
        cols=cols,
        rows=rows,
        complete=state.complete,
    )
