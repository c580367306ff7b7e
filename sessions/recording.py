"""asciicast v2 recordings: the write-ahead log of everything a wrapped program printed.

Format: https://docs.asciinema.org/manual/asciicast/v2/ — a JSON header line, then one JSON array
per line: ``[seconds, "o", text]`` output, ``[seconds, "m", label]`` markers (one per extraction
event), ``[seconds, "r", "COLSxROWS"]`` resizes, ``[seconds, "i", text]`` input typed by streamtap.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

_dumps = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode
_ascii_string = json.encoder.encode_basestring_ascii


def _string(text: str) -> bytes:
    """``text`` as a JSON string, UTF-8 (asciicast's encoding, as asciinema writes it).

    orjson is ~6× as fast as the json module's ASCII encoder on the output's text, and the
    recording is the tap's largest per-byte cost after the copy itself. It also leaves the UTF-8
    in the str, so pickling the same text for the extraction process reuses it instead of
    encoding again. A lone surrogate, which orjson refuses, goes out as a \\u escape.
    """
    try:
        return orjson.dumps(text)
    except orjson.JSONEncodeError:
        return _ascii_string(text).encode("ascii")


class AsciicastWriter:
    """Appends to a recording; with autoflush, every event is written at once.

    The tap turns autoflush off and calls flush() after each chunk of output (with its
    markers): one write() per chunk instead of one per event, and still nothing older than the
    chunk being processed is ever only in memory.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        width: int,
        height: int,
        started: float,
        title: str = "",
        command: str = "",
        env: dict | None = None,
        autoflush: bool = True,
        on_failure: Callable[[OSError], None] | None = None,
    ):
        self.path = Path(path)
        # A full disk (or any write error) stops the recording, not the program: what was
        # written stays, later events are dropped, and on_failure hears of it once.
        self.failed: OSError | None = None
        self.on_failure = on_failure
        self.started = started
        self.autoflush = autoflush
        self._pending: list[bytes] = []
        # Unbuffered binary append: one write() per event is the flush; no fsync, the page
        # cache survives a killed tap.
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            self._fd = -1
            self._stop(exc)
        header = {"version": 2, "width": width, "height": height, "timestamp": int(started)}
        if title:
            header["title"] = title
        if command:
            header["command"] = command
        if env:
            header["env"] = env
        self._write(_dumps(header).encode("ascii"))
        self.output_events = 0

    def _write(self, line: bytes) -> None:
        self._pending.append(line)
        if self.autoflush:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"\n".join(self._pending) + b"\n"
        self._pending = []
        if self.failed is not None:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._stop(exc)

    def _stop(self, exc: OSError) -> None:
        self.failed = exc
        if self.on_failure is not None:
            self.on_failure(exc)

    def output(self, offset: float, text: str) -> None:
        self.output_events += 1
        self._write(b'[%.6f, "o", %b]' % (offset, _string(text)))

    def marker(self, offset: float, label: str) -> None:
        self._write(b'[%.6f, "m", %b]' % (offset, _string(label)))

    def resize(self, offset: float, cols: int, rows: int) -> None:
        self._write(b'[%.6f, "r", "%dx%d"]' % (offset, cols, rows))

    def input(self, offset: float, text: str) -> None:
        self._write(b'[%.6f, "i", %b]' % (offset, _string(text)))

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            try:
                os.close(self._fd)
            except OSError:
                pass  # a close that reports a failed write-back: flush() has said so already
            self._fd = -1


@dataclass(slots=True)
class CastEvent:
    offset: float
    code: str
    data: str


class RecordingError(ValueError):
    pass


# What an imported header may say. A terminal wider than this is no terminal; a timestamp
# past the year 9999 cannot be a datetime.
MAX_TERMINAL_SIZE = 10_000
MAX_TIMESTAMP = 253_402_300_799


def read_header(path: str | os.PathLike) -> dict:
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    try:
        header = json.loads(first)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise RecordingError(f"{path}: first line is not an asciicast header: {exc}") from None
    if not isinstance(header, dict) or header.get("version") not in (2, 3):
        raise RecordingError(f"{path}: not an asciicast v2/v3 recording")
    return header


def _size_field(header: dict, name: str, v3_name: str) -> int | None:
    term = header.get("term")
    value = header.get(name)
    if value is None and isinstance(term, dict):
        value = term.get(v3_name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordingError(f"line 1: {name} must be a whole number, not {value!r:.40}")
    if not 1 <= value <= MAX_TERMINAL_SIZE:
        raise RecordingError(f"line 1: {name} {value} is outside 1..{MAX_TERMINAL_SIZE}")
    return value


def checked_header(path: str | os.PathLike) -> dict:
    """The header of a recording from elsewhere (import), its fields checked: width, height
    (or v3 term.cols/rows), timestamp, title, command. Raises RecordingError naming the field."""
    header = read_header(path)
    term = header.get("term")
    if term is not None and not isinstance(term, dict):
        raise RecordingError("line 1: term must be an object")
    width = _size_field(header, "width", "cols")
    height = _size_field(header, "height", "rows")
    stamp = header.get("timestamp")
    if stamp is not None and (
        not isinstance(stamp, int | float)
        or isinstance(stamp, bool)
        or not math.isfinite(stamp)
        or not 0 <= stamp <= MAX_TIMESTAMP
    ):
        raise RecordingError(f"line 1: timestamp must be seconds since 1970, not {stamp!r:.40}")
    for name in ("title", "command"):
        if header.get(name) is not None and not isinstance(header[name], str):
            raise RecordingError(f"line 1: {name} must be a string")
    return {**header, "width": width, "height": height}


def _event(row: object, clock: float, relative: bool) -> CastEvent:
    """One event line, checked; raises ValueError saying what is wrong with it."""
    if not isinstance(row, list) or len(row) != 3:
        raise ValueError("an event must be [time, code, data]")
    t, code, data = row
    if not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t) or t < 0:
        raise ValueError(f"the time must be a number of seconds ≥ 0, not {t!r:.40}")
    if not isinstance(code, str) or not isinstance(data, str):
        raise ValueError("the code and data must be strings")
    t = clock + t if relative else float(t)
    if t > MAX_TIMESTAMP:
        raise ValueError(f"the time {t:.0f} s is past any recording's length")
    return CastEvent(t, code, data)


def iter_events(path: str | os.PathLike, *, strict: bool = False) -> Iterator[CastEvent]:
    """Yield the events of a v2 or v3 recording (v3 times are relative: made absolute here).

    A truncated or unreadable line (the tap was killed mid-write) is skipped, not an error;
    with ``strict`` (a recording from elsewhere) any bad line raises RecordingError naming it.
    """
    header = read_header(path)
    relative = header.get("version") == 3
    clock = 0.0
    with open(path, encoding="utf-8", errors="replace") as f:
        f.readline()
        for number, line in enumerate(f, start=2):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                ev = _event(json.loads(line), clock, relative)
            except (ValueError, RecursionError) as exc:
                if strict:
                    raise RecordingError(f"line {number}: {exc}") from None
                continue
            if relative:
                clock = ev.offset
            yield ev


def recording_path_for(recordings_dir: str | os.PathLike, agent_name: str, started: float) -> Path:
    """A new file name that is unique without asking the database (which may be down)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    safe_agent = "".join(c if c.isalnum() or c in "-_." else "_" for c in agent_name)[:60]
    day = time.strftime("%Y/%m/%d", time.localtime(started))
    return Path(recordings_dir) / day / f"{safe_agent}-{stamp}-{os.getpid()}.cast"
