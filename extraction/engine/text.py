"""The line model: ANSI stripping, carriage returns and the per-line cap.

A line's value is computed from its raw text alone, never from how that text was split into
chunks, so that the engine gives the same events for the same stream however it arrives.
"""

from __future__ import annotations

import re

# A line is cut to this many characters of raw text (after carriage-return resolution, before
# ANSI stripping) so that a 10 MB line costs no more than a long one.
LINE_CAP = 64 * 1024
TRUNCATED_MARKER = " …[truncated]"

# TUIs move the cursor instead of printing spaces; those moves must read as a space.
_CURSOR_MOVE_RE = re.compile(r"\x1b\[[0-9;]*[CG]")
_ANSI_RE = re.compile(
    r"\x1b(?:"
    r"\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST (or the line)
    r"|[ -/]*[0-~]"  # other 2-byte (and nF 3-byte) sequences
    r")?"
)


def strip_ansi(text: str) -> str:
    if "\x1b" not in text:
        return text
    return _ANSI_RE.sub("", _CURSOR_MOVE_RE.sub(" ", text))


def resolve_cr(line: str) -> str:
    """A bare carriage return rewinds the line: keep the last non-empty segment."""
    if "\r" not in line:
        return line
    for segment in reversed(line.split("\r")):
        if segment:
            return segment
    return ""


def cap_line(line: str) -> str:
    if len(line) > LINE_CAP:
        return line[:LINE_CAP] + TRUNCATED_MARKER
    return line


def _cap_long_lines(text: str) -> str:
    """Cut every line longer than LINE_CAP; cheap when there is none."""
    n = len(text)
    pos = 0
    while n - pos > LINE_CAP:
        # A line longer than the cap exists iff some window of LINE_CAP + 1 characters
        # holds no newline; stepping from newline to newline finds it in O(n / LINE_CAP).
        nl = text.rfind("\n", pos, pos + LINE_CAP + 1)
        if nl < 0:
            return "\n".join(cap_line(line) for line in text.split("\n"))
        pos = nl + 1
    return text


def clean_region(raw: str) -> str:
    """Turn raw complete lines (ending with "\\n") into their matching values."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n")
        if "\r" in raw:
            raw = "\n".join(resolve_cr(line) for line in raw.split("\n"))
    if len(raw) > LINE_CAP:
        raw = _cap_long_lines(raw)
    if "\x1b" in raw:
        raw = strip_ansi(raw)
    return raw


def clean_line(raw: str) -> str:
    return strip_ansi(cap_line(resolve_cr(raw)))


class PartialLine:
    """The unterminated tail of the stream, kept in bounded memory.

    Compaction keeps only what can still decide the line's value: the last non-empty
    carriage-return segment and the current one, each cut to just over the cap so that the
    later cut (and its marker) comes out the same as on the full text.
    """

    __slots__ = ("raw",)

    def __init__(self) -> None:
        self.raw = ""

    def append(self, text: str) -> None:
        self.raw += text
        if len(self.raw) > 4 * LINE_CAP:
            self._compact()

    def _compact(self) -> None:
        segments = self.raw.split("\r")
        current = segments[-1]
        previous = ""
        for segment in reversed(segments[:-1]):
            if segment:
                previous = segment
                break
        keep = LINE_CAP + 1
        raw = current[:keep]
        if len(segments) > 1:
            raw = previous[:keep] + "\r" + raw
        self.raw = raw

    def take(self) -> str:
        raw, self.raw = self.raw, ""
        return raw

    def value(self) -> str:
        raw = self.raw
        if raw.endswith("\r"):
            raw = raw[:-1]
        return clean_line(raw)
