"""Fingerprints: one per problem, however often and wherever it happens (as Sentry groups).

An error's fingerprint is its rule plus its message with everything that changes from one
occurrence to the next normalised away: numbers, hex ids, UUIDs, timestamps, quoted values,
addresses and the variable parts of paths. A traceback (Python, JVM, JavaScript, Go, Rust) is
grouped by its exception type and the innermost frames of the program's own code instead: the
message of the same bug often carries data ("KeyError: 'user_4411'"), its place in the code not.

``preview`` is the one line that tells an event from the others: for a traceback, the exception
line, not "Traceback (most recent call last):".

No Django here: the writer, ``extract`` and the tests call it alike.
"""

from __future__ import annotations

import hashlib
import re

# Only problems are grouped; metrics, code blocks and prompts are not (a prompt is decided alone).
GROUPED_TYPES = frozenset({"error", "warning"})
# How many of the program's own innermost frames make a traceback's identity: the place that
# raised and its caller or two; deeper frames are the entry point, shared by unrelated bugs.
OWN_FRAMES = 3
# Long events (a pytest failure section) are told apart by their beginning.
MAX_MESSAGE_CHARS = 600

# Order matters: the wider forms (timestamps, UUIDs, paths) go before the numbers inside them.
# Each pattern runs only when the text holds its marker (a cheap `in`): most messages have no
# URL, UUID or home directory, and this runs on the writer's thread for every error.
_NORMALISERS = [
    (
        ":",
        re.compile(
            # ISO 8601 and its kin; syslog's "Mar 10 09:12:01"; a bare time of day.
            r"\b\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?"
            r"|\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?"
            r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
            r"\s+\d{1,2}\s+\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?:\s+\d{4})?"
            r"|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
        ),
        "<ts>",
    ),
    (
        "-",
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    ("://", re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I), "<url>"),
    ("0x", re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    # A run of hex with a digit and a letter and at least 7 long: a commit, a request id.
    ("", re.compile(r"\b[0-9a-f]{7,}\b", re.I), lambda m: _hex_id(m.group())),
    # Quoted values: a key, a file name, a user's input.
    ("'", re.compile(r"'[^'\n]{0,200}'"), "<q>"),
    ('"', re.compile(r'"[^"\n]{0,200}"'), "<q>"),
    ("\u2018", re.compile(r"\u2018[^\u2019\n]{0,200}\u2019"), "<q>"),
    ("\u201c", re.compile(r"\u201c[^\u201d\n]{0,200}\u201d"), "<q>"),
    # Home directories and temporary directories: who ran it and where, not what failed.
    ("/", re.compile(r"(/(?:home|Users))/[^/\s]+"), r"\1/<user>"),
    ("/", re.compile(r"(/(?:tmp|var/folders|private/var))/[^\s:]+"), r"\1/<tmp>"),
    # Numbers, versions and addresses (10.0.0.5:5432 becomes <n>:<n>).
    ("", re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
]

# Frames of the language and its libraries, not the program's own code.
_LIBRARY_MARKERS = (
    "site-packages/",
    "dist-packages/",
    "/lib/python",
    "<frozen ",
    "node_modules/",
    "node:",
    "internal/",
    "/rustc/",
    ".cargo/registry/",
    "/usr/local/go/src/",
    "/usr/lib/go",
)
_LIBRARY_PACKAGES = (
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "org.junit.",
    "std::",
    "core::",
    "alloc::",
    "runtime.",
    "testing.",
    "__rust",
    "rust_begin_unwind",
)

_PY_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+(?:, in (\S+))?')
_JVM_FRAME = re.compile(r"^\s*at ([\w$.<>/]+)\.([\w$<>]+)\(([^)]*)\)")
_JS_FRAME = re.compile(r"^\s*at (?:(?:async )?([^\s(]+) \()?([^\s()]+?):\d+(?::\d+)?\)?\s*$")
_RUST_FRAME = re.compile(r"^\s*\d+: ((?:[\w<>]+::)+[\w<>{}]+)")
_GO_FRAME = re.compile(r"^((?:[\w.-]+/)*[\w.-]+\.[\w.()*]+)\(.*\)$")
_PY_EXCEPTION = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|\w*))(?::|$)"
)
# A traceback's first line is the same for all of them ("Traceback (most recent call last):");
# what tells one from another is the exception at its end.
_BOILERPLATE_FIRST_LINES = ("Traceback (most recent call last):", "npm ERR!", "npm error")


def _hex_id(run: str) -> str:
    if run.isdigit() or run.isalpha():
        return run  # a number (replaced below) or a word ("defaced")
    return "<hex>"


# A message's digit pattern: its UTF-8 with the digits 2-9 as 1. No normaliser tells one digit
# from another except the "0" of "0x" (kept), and every digit ends inside a placeholder, so two
# messages with one digit pattern normalise alike (tests/extraction/test_engine_fingerprint.py
# checks it against the uncached normalising).
_DIGIT_PATTERN = bytes.maketrans(b"23456789", b"11111111")
_NORMALISED_SIZE = 4096
_normalised: dict[bytes, str] = {}


def normalise(message: str) -> str:
    """The message with what varies between occurrences replaced by placeholders."""
    # Normalised once per digit pattern: a log line repeated with other numbers (an attempt, a
    # worker, a time) costs a lookup, not a dozen substitutions. It was 11 % of the extraction
    # process's CPU on the heavy bench input, on the tap's busiest stage.
    text = message[:MAX_MESSAGE_CHARS]
    key = text.encode("utf-8", "surrogatepass").translate(_DIGIT_PATTERN)
    found = _normalised.get(key)
    if found is None:
        if len(_normalised) >= _NORMALISED_SIZE:
            _normalised.clear()
        found = _normalised[key] = normalise_uncached(text)
    return found


def normalise_uncached(text: str) -> str:
    """``normalise`` of ``text`` as it is (its digits as they are): the reference its cache is
    checked against."""
    text = text[:MAX_MESSAGE_CHARS]
    for marker, pattern, replacement in _NORMALISERS:
        if marker in text:
            text = pattern.sub(replacement, text)
    return " ".join(text.split())


def fingerprint(event_type: str, rule: str, content: str, metadata: dict | None = None) -> str:
    """A 32-character hex id of the problem; empty for event types that are not grouped."""
    if event_type not in GROUPED_TYPES:
        return ""
    identity = "\x00".join((rule, *signature(content, metadata or {})))
    return hashlib.blake2b(identity.encode("utf-8", "replace"), digest_size=16).hexdigest()


# The row key under which the tap's extraction process hands a row's fingerprint to the writer.
ROW_KEY = "fingerprint"


class Fingerprints:
    """``fingerprint`` with a memory of recent messages: the same line printed again (a warning
    in a loop) is not normalised again. Bounded (a few hundred KB at most)."""

    def __init__(self, size: int = 2_048):
        self.size = size
        self._recent: dict[tuple, str] = {}

    def of(self, row: dict) -> str:
        metadata = row.get("metadata") or {}
        key = (row["event_type"], row["rule"], row["content"], metadata.get("exception"))
        fp = self._recent.get(key)
        if fp is None:
            if len(self._recent) >= self.size:
                self._recent.clear()
            fp = self._recent[key] = fingerprint(*key[:3], metadata)
        return fp

    def mark(self, rows: list[dict]) -> None:
        """Give each error and warning row its fingerprint (``row[ROW_KEY]``). The tap's
        extraction process does this: normalising was a fifth of the writer's CPU on the heavy
        input, and the writer is the tap's last stage (docs/tap-performance.md)."""
        of = self.of
        for row in rows:
            if row["event_type"] in GROUPED_TYPES:
                row[ROW_KEY] = of(row)


def signature(content: str, metadata: dict) -> list[str]:
    """What identifies the problem, before hashing (tests read it to see why two prints differ)."""
    # One line has no frames (a panic's location is on its first line).
    frames = own_frames(content) if "\n" in content or " panicked at " in content else []
    exception = str(metadata.get("exception") or "") or _exception_of(content)
    if frames:
        return ["exception", exception, *frames]
    if exception:
        return ["exception", exception, normalise(str(metadata.get("message") or ""))]
    return ["message", normalise(content)]


def own_frames(content: str, limit: int = OWN_FRAMES) -> list[str]:
    """The innermost `limit` frames of the program's own code, innermost first."""
    frames: list[tuple[str, bool]] = []
    go = "goroutine " in content
    for line in content.splitlines():
        frame = _frame(line, go)
        if frame is not None:
            frames.append(frame)
        elif line.startswith("Traceback (most recent call last)"):
            # A chained Python traceback: the last one is the exception that escaped.
            frames = []
    # Python prints the innermost frame last; the JVM, JavaScript, Go and Rust print it first.
    innermost_last = content.startswith("Traceback") or "\nTraceback (most recent" in content
    if not frames and " panicked at " in content:
        location = content.split(" panicked at ", 1)[1].split(":", 1)[0]
        frames = [(_short_path(location), _is_library(location))]
    own = [name for name, library in frames if not library]
    if innermost_last:
        own.reverse()
    return own[:limit]


def _frame(line: str, go: bool) -> tuple[str, bool] | None:
    """(a frame's name without line numbers, whether it is library code), or None."""
    # Each kind of frame starts its own way: look at the start before running a pattern.
    start = line.lstrip()[:6]
    if start == 'File "' and (m := _PY_FRAME.match(line)):
        path, function = m.group(1), m.group(2) or ""
        return f"{_short_path(path)}:{function}", _is_library(path)
    if start[:3] == "at ":
        if m := _JVM_FRAME.match(line):
            owner, method, where = m.group(1), m.group(2), m.group(3)
            name = f"{owner}.{method}"
            return name, name.startswith(_LIBRARY_PACKAGES) or _is_library(where)
        if m := _JS_FRAME.match(line):
            function, path = m.group(1) or "", m.group(2)
            return f"{_short_path(path)}:{function}", _is_library(path)
    if start[:1].isdigit() and (m := _RUST_FRAME.match(line)):
        name = m.group(1)
        return re.sub(r"::h[0-9a-f]{16}$", "", name), name.startswith(_LIBRARY_PACKAGES)
    if go and (m := _GO_FRAME.match(line)):
        name = m.group(1)
        return name, name.startswith(_LIBRARY_PACKAGES)
    return None


def _short_path(path: str) -> str:
    """A file's name and its folder: the same code checked out elsewhere keeps its print."""
    parts = path.replace("\\", "/").rstrip("/").split("/")
    return "/".join(parts[-2:])


def _is_library(path: str) -> bool:
    return any(marker in path for marker in _LIBRARY_MARKERS)


def _exception_of(content: str) -> str:
    """A Python traceback's exception type, read off its last unindented line.

    The traceback may follow the log line that announced it ("ERROR job failed" + traceback).
    """
    if "Traceback (most recent call last)" not in content:
        return ""
    for line in reversed(content.splitlines()):
        if line and not line[0].isspace():
            m = _PY_EXCEPTION.match(line)
            return m.group(1) if m else ""
    return ""


def preview(content: str, metadata: dict | None = None, limit: int = 120) -> str:
    """One line that tells this event from the others: the exception line of a traceback."""
    metadata = metadata or {}
    line = ""
    if metadata.get("exception"):
        message = str(metadata.get("message") or "")
        line = f"{metadata['exception']}: {message}" if message else str(metadata["exception"])
    else:
        lines = [ln.strip() for ln in content.splitlines() if ln.strip()]
        if lines:
            line = lines[0]
            if len(lines) > 1 and line.startswith(_BOILERPLATE_FIRST_LINES):
                line = lines[-1]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def exception_line(content: str, metadata: dict | None = None) -> str:
    """The preview, for an event whose first line says nothing ("Traceback (most recent …"); else "".

    Pages that show an event's first lines put this line above them.
    """
    first = next((line.strip() for line in content.splitlines() if line.strip()), "")
    return preview(content, metadata) if first.startswith(_BOILERPLATE_FIRST_LINES) else ""
