"""A seek index for long recordings, and keyframes (paced playback is ``sessions/replay.py``).

A 1-hour session can leave a 100 MB recording with a million output chunks. Nothing here reads a
recording from the start to play or seek into it:

- ``RecordingIndex`` samples the recording every ``INDEX_STEP_BYTES`` (the time of the first
  whole line after each step), so a time offset maps to a byte offset by bisection, and a seek
  reads at most one step of lines to find the exact position. The index is cached beside the
  recording as ``<file>.idx`` and extended, not rebuilt, when the recording grew (a running tap
  appends to it); a recording that shrank or was replaced is indexed afresh.
- A seek also needs the screen as it was. Re-playing everything before the point is exact but
  reads the whole file; instead the player sends a *keyframe*: the output of the last
  ``KEYFRAME_BYTES`` before the point, cut at the last full-screen clear in it when there is one
  (``ESC c``, ``ESC [2J``, alternate screen on/off). Line-oriented programs (agents, compilers,
  test runners) scroll far more than a screen in that window, so the screen comes out right;
  a full-screen program that only repaints small regions for longer than the window, or a
  terminal mode set before it (colours, alternate screen, scroll region), can show stale cells
  until its next full redraw. That is the trade-off for a seek that costs a few milliseconds
  whatever the length of the recording.

Resizes are found with a byte search on the first seek (``, "r", "`` cannot occur inside a JSON
string, where a quote is escaped), so the terminal size at any point is known without parsing
the whole file.

v3 recordings (relative times) are indexed by one full pass, because an absolute time needs the
sum of every interval before it; the recordings streamtap writes and imports are v2.
"""

from __future__ import annotations

import json
import math
import mmap
import os
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from .recording import RecordingError

INDEX_STEP_BYTES = 64 * 1024
KEYFRAME_BYTES = 128 * 1024
INDEX_SUFFIX = ".idx"
INDEX_FORMAT = 2
# The largest offset a file position can hold (a signed 64-bit off_t).
MAX_FILE_OFFSET = 2**63 - 1
# Escape sequences after which earlier output no longer shows: reset, clear screen, alternate
# screen on and off (a program entering or leaving it repaints).
SCREEN_CLEARS = ("\x1bc", "\x1b[2J", "\x1b[?1049h", "\x1b[?1049l", "\x1b[?47h", "\x1b[?47l")
_RESIZE_NEEDLE = b', "r", "'  # asciinema and AsciicastWriter both separate with ", "


@dataclass(slots=True)
class Frame:
    """One recording line: absolute time, code ("o", "m", "r", "i"), data, byte span."""

    t: float
    code: str
    data: str
    start: int
    end: int
    clock_before: float = 0.0  # v3: the clock before this line, to restart reading at it


@dataclass(slots=True)
class Cursor:
    """Where to continue reading: a line start, and (v3 only) the clock before that line."""

    byte: int
    clock: float = 0.0

    def encode(self) -> str:
        return f"{self.byte}:{self.clock!r}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``encode`` wrote; ValueError for any text it cannot have written."""
        byte, _, clock = text.partition(":")
        # int() would also take "-1", " 7" and "1_0"; an offset is digits only.
        if not (byte.isascii() and byte.isdigit()):
            raise ValueError("not a cursor")
        value = cls(int(byte), float(clock or 0.0))
        if value.byte > MAX_FILE_OFFSET or not math.isfinite(value.clock):
            raise ValueError("not a cursor")
        return value


@dataclass(slots=True)
class Seek:
    time: float
    cursor: Cursor
    keyframe: str
    cols: int
    rows: int
    bytes_read: int = 0


@dataclass
class _Point:
    t: float
    byte: int
    clock: float  # v3: the clock before the line at `byte`


def _parse_line(raw: bytes) -> tuple[float, str, str] | None:
    try:
        t, code, data = json.loads(raw.decode("utf-8", errors="replace"))
        return float(t), str(code), data if isinstance(data, str) else str(data)
    except (ValueError, TypeError):
        return None


def _parse_lines(raws: list[bytes]) -> list[tuple[float, str, str] | None]:
    """Parse many lines with one json.loads (several times faster than one call per line);
    a batch with a bad line falls back to line by line."""
    if not raws:
        return []
    if all(raw.startswith(b"[") for raw in raws):
        try:
            items = json.loads("[" + b",".join(raws).decode("utf-8", errors="replace") + "]")
            return [
                (float(t), str(code), data if isinstance(data, str) else str(data))
                for t, code, data in items
            ]
        except (ValueError, TypeError):
            pass
    return [_parse_line(raw) if raw.startswith(b"[") else None for raw in raws]


def _line_time(raw: bytes) -> float | None:
    """The time of a v2 line without decoding its data: ``[12.345, "o", ...``."""
    comma = raw.find(b",")
    if not raw.startswith(b"[") or comma < 0:
        return None
    try:
        return float(raw[1:comma])
    except ValueError:
        return None


@dataclass
class RecordingIndex:
    path: Path
    step: int = INDEX_STEP_BYTES
    cache: bool = True
    header: dict = field(default_factory=dict)
    version: int = 2
    header_end: int = 0
    # Bytes covered: the end of the last complete line seen when the index was refreshed.
    size: int = 0
    end_time: float = 0.0
    points: list[_Point] = field(default_factory=list)
    resizes: list[tuple[float, int, int]] = field(default_factory=list)
    # v2: resizes are looked for on the first seek, not on open (a scan of the whole file).
    resizes_scanned: int = 0
    _ident: tuple[int, int] = (0, 0)
    _times: list[float] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | os.PathLike, **kwargs) -> RecordingIndex:
        index = cls(Path(path), **kwargs)
        index.refresh()
        return index

    # --- building ---------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.path.with_name(self.path.name + INDEX_SUFFIX)

    def refresh(self) -> bool:
        """Bring the index up to the end of the recording; True if it covers new bytes."""
        st = os.stat(self.path)
        ident = (st.st_dev, st.st_ino)
        if not self.points and self.cache:
            self._load_cache(ident)
        if ident != self._ident or st.st_size < self.size or not self.points:
            self._reset(ident)
        if st.st_size == self.size:
            return False
        before = self.size
        with open(self.path, "rb") as f:
            if self.version == 3:
                self._extend_v3(f)
            else:
                self._extend_v2(f, st.st_size)
        self._times = [p.t for p in self.points]
        if self.cache and self.size != before:
            self._save_cache()
        return self.size != before

    def _reset(self, ident: tuple[int, int]) -> None:
        with open(self.path, "rb") as f:
            first = f.readline()
        try:
            header = json.loads(first.decode("utf-8", errors="replace"))
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("version") not in (2, 3):
            raise RecordingError(f"{self.path}: not an asciicast v2/v3 recording")
        self.header, self.version = header, header["version"]
        self.header_end = self.size = len(first)
        self.end_time = 0.0
        self.points = [_Point(0.0, self.header_end, 0.0)]
        self.resizes = []
        self.resizes_scanned = self.header_end
        self._ident = ident

    def _extend_v2(self, f, file_size: int) -> None:
        # Complete lines only: the last one may be half written by a running tap.
        complete = self._complete_end(f, file_size)
        if complete <= self.size:
            return
        last = self.points[-1]
        pos = last.byte + self.step
        while pos < complete:
            f.seek(pos - 1)
            f.readline()  # the rest of the line `pos` falls into
            start = f.tell()
            if start >= complete:
                break
            t = _line_time(f.readline())
            if t is not None and start > self.points[-1].byte:
                self.points.append(_Point(max(t, self.points[-1].t), start, 0.0))
            pos = max(start, pos) + self.step
        self.end_time = max(self.end_time, self._last_time(f, complete))
        self.size = complete

    def _extend_v3(self, f) -> None:
        f.seek(self.size)
        clock = self.end_time
        last_point = self.points[-1].byte
        pos = self.size
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            start, pos = pos, pos + len(raw)
            parsed = _parse_line(raw) if raw.startswith(b"[") else None
            if parsed is None:
                continue
            before = clock
            clock += parsed[0]
            if start - last_point >= self.step:
                self.points.append(_Point(clock, start, before))
                last_point = start
            if parsed[1] == "r":
                self._add_resize(clock, parsed[2])
        self.end_time = clock
        self.size = self.resizes_scanned = pos

    @staticmethod
    def _complete_end(f, file_size: int) -> int:
        back = min(file_size, 1 << 20)
        f.seek(file_size - back)
        tail = f.read(back)
        newline = tail.rfind(b"\n")
        return file_size - back + newline + 1 if newline >= 0 else 0

    @staticmethod
    def _last_time(f, complete: int) -> float:
        back = min(complete, 1 << 20)
        f.seek(complete - back)
        for raw in reversed(f.read(back).splitlines()):
            t = _line_time(raw)
            if t is not None:
                return t
        return 0.0

    def _scan_resizes(self) -> None:
        start, end = self.resizes_scanned, self.size
        if self.version == 3 or end <= start:
            return
        found = []
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), end, access=mmap.ACCESS_READ) as m:
            i = m.find(_RESIZE_NEEDLE, start, end)
            while i >= 0:
                line_start = m.rfind(b"\n", 0, i) + 1
                line_end = m.find(b"\n", i, end)
                parsed = _parse_line(m[line_start:line_end])
                if parsed is not None and parsed[1] == "r":
                    found.append(parsed)
                i = m.find(_RESIZE_NEEDLE, max(i + 1, line_end), end)
        for t, _code, data in found:
            self._add_resize(t, data)
        self.resizes_scanned = end
        if self.cache:
            self._save_cache()

    def _add_resize(self, t: float, data: str) -> None:
        cols, _, rows = data.partition("x")
        if cols.isdigit() and rows.isdigit():
            self.resizes.append((t, int(cols), int(rows)))

    def _load_cache(self, ident: tuple[int, int]) -> None:
        try:
            data = json.loads(self.index_path.read_text())
        except (OSError, ValueError):
            return
        if (
            data.get("format") != INDEX_FORMAT
            or data.get("step") != self.step
            or tuple(data.get("ident", ())) != ident
        ):
            return
        self.header, self.version = data["header"], data["version"]
        self.header_end, self.size, self.end_time = data["header_end"], data["size"], data["end"]
        self.points = [_Point(*p) for p in data["points"]]
        self.resizes = [tuple(r) for r in data["resizes"]]
        self.resizes_scanned = data["resizes_scanned"]
        self._ident = ident
        self._times = [p.t for p in self.points]

    def _save_cache(self) -> None:
        data = {
            "format": INDEX_FORMAT,
            "step": self.step,
            "ident": list(self._ident),
            "header": self.header,
            "version": self.version,
            "header_end": self.header_end,
            "size": self.size,
            "end": self.end_time,
            "points": [[p.t, p.byte, p.clock] for p in self.points],
            "resizes": [list(r) for r in self.resizes],
            "resizes_scanned": self.resizes_scanned,
        }
        tmp = self.index_path.with_name(f".{self.index_path.name}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps(data, separators=(",", ":")))
            os.replace(tmp, self.index_path)
        except OSError:
            # A read-only recordings directory: the index still works, from memory.
            tmp.unlink(missing_ok=True)

    # --- reading ----------------------------------------------------------------------------

    @property
    def cols(self) -> int:
        return int(self.header.get("width") or self.header.get("term", {}).get("cols") or 80)

    @property
    def rows(self) -> int:
        return int(self.header.get("height") or self.header.get("term", {}).get("rows") or 24)

    @property
    def idle_time_limit(self) -> float | None:
        limit = self.header.get("idle_time_limit")
        return float(limit) if isinstance(limit, int | float) and limit > 0 else None

    def start(self) -> Cursor:
        return Cursor(self.header_end, 0.0)

    def point_before(self, t: float) -> _Point:
        """The last index point strictly before ``t``: every line at ``t`` or later follows it."""
        i = bisect_left(self._times, t) - 1
        return self.points[max(i, 0)]

    def size_at(self, t: float) -> tuple[int, int]:
        if self.resizes_scanned < self.size:
            self._scan_resizes()
        i = bisect_right([r[0] for r in self.resizes], t)
        if i:
            return self.resizes[i - 1][1], self.resizes[i - 1][2]
        return self.cols, self.rows

    def check(self, cursor: Cursor) -> None:
        """ValueError unless ``cursor`` is where ``read`` can go on: a line start in the recording.

        Every cursor ``read`` returns is one. A live recording only grows, so a cursor from an
        earlier read is within the index of any later request.
        """
        if cursor.byte > self.size:
            raise ValueError(f"past the end of the recording ({self.size} bytes)")
        if cursor.byte == self.header_end:
            return
        if cursor.byte > self.header_end:
            with open(self.path, "rb") as f:
                f.seek(cursor.byte - 1)
                if f.read(1) == b"\n":
                    return
        raise ValueError("not at the start of a line")

    def read(self, cursor: Cursor, *, max_bytes: int = 1 << 20) -> tuple[list[Frame], Cursor]:
        """Complete lines from ``cursor``, about ``max_bytes`` of them (whole lines).

        Reads the file as it is now, beyond what the index covers: a live recording grows.
        """
        with open(self.path, "rb") as f:
            f.seek(cursor.byte)
            data = f.read(max_bytes)
            if data and not data.endswith(b"\n"):
                data += f.readline()
        data = data[: data.rfind(b"\n") + 1]  # a half-written last line waits for the next read
        raws = data.split(b"\n")[:-1]
        frames: list[Frame] = []
        clock = cursor.clock
        relative = self.version == 3
        pos = cursor.byte
        for raw, parsed in zip(raws, _parse_lines(raws), strict=True):
            start, pos = pos, pos + len(raw) + 1
            if parsed is None:
                continue
            t, code, text = parsed
            before = clock
            if relative:
                clock += t
                t = clock
            frames.append(Frame(t, code, text, start, pos, before))
        return frames, Cursor(pos, clock)

    def seek(self, t: float, *, keyframe_bytes: int = KEYFRAME_BYTES) -> Seek:
        """The position of the first line at or after ``t``, and the screen just before it."""
        target = self.point_before(t)
        # Start the keyframe window far enough back, on an index point (a line start).
        i = bisect_right([p.byte for p in self.points], target.byte - keyframe_bytes)
        origin = self.points[max(i - 1, 0)] if target.byte - keyframe_bytes > 0 else self.points[0]
        texts: list[str] = []
        cursor = None
        pos = Cursor(origin.byte, origin.clock)
        while cursor is None:
            frames, after = self.read(pos, max_bytes=1 << 20)
            for frame in frames:
                if frame.t >= t:
                    cursor = Cursor(frame.start, frame.clock_before)
                    break
                if frame.code == "o":
                    texts.append(frame.data)
            if cursor is None and after.byte == pos.byte:
                cursor = after  # the end of the recording
            pos = after
        keyframe = _keyframe("".join(texts), from_start=origin.byte == self.header_end)
        cols, rows = self.size_at(t)
        return Seek(t, cursor, keyframe, cols, rows, bytes_read=cursor.byte - origin.byte)


def _keyframe(text: str, *, from_start: bool) -> str:
    cut = max((text.rfind(seq) for seq in SCREEN_CLEARS), default=-1)
    if cut >= 0:
        # Keep a cursor-home written just before a clear (the usual "ESC[H ESC[2J").
        if text[max(cut - 3, 0) : cut] == "\x1b[H":
            cut -= 3
        return text[cut:]
    if from_start:
        return text
    # The window starts mid-stream: begin at a line start rather than in the middle of a line
    # or an escape sequence.
    newline = text.find("\n")
    return text[newline + 1 :] if newline >= 0 else text
