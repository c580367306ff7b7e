"""Secret redaction, applied to everything before it is stored or shown.

Most text holds no secret at all, so a literal prefilter over a lowercased copy decides
whether the (slower) patterns run.
"""

from __future__ import annotations

import os
import re
import threading

from .hyperscan_db import database as _hyperscan_database
from .hyperscan_db import hyperscan as _hyperscan

_KEY_WORD = (
    r"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|credentials?)"
)
# A key name ending in a secret word, e.g. DB_PASSWORD, aws_secret_access_key, "apiKey".
_KEY_NAME = r"[\w.-]*" + _KEY_WORD

# An AWS secret access key has no prefix of its own: 40 base64 characters. A run of exactly 40
# is taken for one only after what names it on the same line (the word aws or secret, or an
# access key id, at most AWS_SECRET_REACH characters before it), and only if it looks random:
# both cases, a digit, / or +, and a letter past f (a git SHA or other hex digest is no key).
AWS_SECRET_REACH = 64
AWS_SECRET_LENGTH = 40
_AWS_SECRET_NAMERS = ("aws", "secret", "akia", "asia")
_AWS_SECRET_RE = re.compile(
    rf"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{{{AWS_SECRET_LENGTH}}}(?![A-Za-z0-9/+=])"
)
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT_SLASH_PLUS = frozenset("0123456789/+")
_HEX = frozenset("0123456789abcdefABCDEF")


def _aws_secret(m: re.Match) -> str:
    key = m.group(0)
    chars = set(key)
    if not (chars & _LOWER and chars & _UPPER and chars & _DIGIT_SLASH_PLUS and chars - _HEX):
        return key
    text, start = m.string, m.start()
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - AWS_SECRET_REACH) : start].lower()
    if any(word in before for word in _AWS_SECRET_NAMERS):
        return "[REDACTED:aws_secret_access_key]"
    return key


# (kind, lowercase literals of which one must be present, pattern, replacement). The literal
# check is what makes redaction cheap: most text holds none of them.
_Pattern = tuple[str, tuple[bytes, ...], re.Pattern, object]


def _secret(kind: str, triggers: tuple[bytes, ...], pattern: str, replacement=None) -> _Pattern:
    """A secret kind: its replacement is "[REDACTED:kind]" unless it keeps part of the match."""
    return (kind, triggers, re.compile(pattern), replacement or f"[REDACTED:{kind}]")


_PATTERNS: list[_Pattern] = [
    (
        "private_key",
        (b"-----begin",),
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        lambda m: "[REDACTED:private_key]" + "\n" * m.group(0).count("\n"),
    ),
    _secret("anthropic_key", (b"sk-ant-",), r"\bsk-ant-[A-Za-z0-9_-]{8,}"),
    _secret("openai_key", (b"sk-",), r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}"),
    _secret("aws_access_key_id", (b"akia", b"asia"), r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "aws_secret_access_key",
        tuple(word.encode() for word in _AWS_SECRET_NAMERS),
        _AWS_SECRET_RE,
        _aws_secret,
    ),
    _secret(
        "github_token",
        (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
    ),
    _secret("slack_token", (b"xox",), r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    _secret("stripe_key", (b"k_live_", b"k_test_"), r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    _secret("google_api_key", (b"aiza",), r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    # A bare JSON Web Token: header and payload are base64 JSON objects, so both start eyJ.
    _secret("jwt", (b"yj",), r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # The webhook's path is its credential; the host stays to say what it was.
    _secret(
        "slack_webhook",
        (b"://",),
        r"(https?://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+",
        r"\1[REDACTED:slack_webhook]",
    ),
    # A GCP service-account file; its private_key itself is caught as a private key.
    _secret(
        "gcp_private_key_id",
        (b"key",),
        r"(\"private_key_id\"\s*:\s*\")[0-9a-fA-F]{16,}(?=\")",
        r"\1[REDACTED:gcp_private_key_id]",
    ),
    _secret("npm_token", (b"pm_",), r"\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
    # PyPI API tokens are macaroons whose base64 starts with "pypi.org".
    _secret("pypi_token", (b"pypi-ageichlwas5vcmc",), r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}"),
    _secret(
        "bearer",
        (b"bearer", b"basic"),
        r"(?i)\b(bearer|basic)\s+(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}",
        r"\1 [REDACTED:token]",
    ),
    _secret(
        "url_password",
        (b"://",),
        r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):(?!\[REDACTED)[^\s@/]+@",
        r"\1:[REDACTED:password]@",
    ),
]


_ASSIGNMENT_TRIGGERS = (b"pass", b"pwd", b"secret", b"token", b"key", b"credential")
# `name = value` where the name ends in a secret word (DB_PASSWORD, aws_secret_access_key,
# "apiKey"). Found by literal search over a lowercased ASCII image of the text with the same
# offsets, then checked where each word occurs: a regex search over the whole text for these
# words is slower by an order of magnitude.
_ASSIGNMENT_AT_RE = re.compile(
    rb"(?:password|passwd|pass|pwd|secret|token|key|credentials?)[\"']?[ \t]*[:=][ \t]*"
    rb"(?P<value>\"(?!\[redacted)[^\"\n]+\"|'(?!\[redacted)[^'\n]+'|(?![\"'\[])[^\s,;\"'&]+)"
)


def _redact_assignments(text: str) -> str:
    image = text.encode("ascii", "replace").lower()
    spans = []
    for word in _ASSIGNMENT_TRIGGERS:
        i = image.find(word)
        while i >= 0:
            # The word must start the name or follow a separator ("db_password", not
            # "monkey"); "apikey" is the one run-together name accepted.
            if (
                i == 0
                or not image[i - 1 : i].isalnum()
                or (word == b"key" and image[i - 3 : i] == b"api")
            ):
                m = _ASSIGNMENT_AT_RE.match(image, i)
                if m:
                    spans.append(m.span("value"))
            i = image.find(word, i + 1)
    if not spans:
        return text
    pieces = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        pieces.append(text[pos:start])
        pieces.append("[REDACTED:secret]")
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


# One search for all trigger literals: three times faster than a loop of `in` tests. Grouped
# by first letter (a fifth faster again: fewer branches tried at each position), and each
# literal starts with a letter already there or a rare one ("yj" of a JWT's "eyJ", not "eyj":
# every common first letter makes the search stop at more positions); a test checks
# that it finds a text exactly when one of the literals is in it.
_ANY_TRIGGER_RE = re.compile(
    rb"-----begin|s(?:k-|ecret)|a(?:kia|sia|ws|iza)|g(?:h[pousr]_|ithub_pat_)|xox|b(?:earer|asic)|://"
    rb"|p(?:ass|wd|m_|ypi-ageichlwas5vcmc)|token|k(?:ey|_live_|_test_)|credential|yj"
)
_ALL_TRIGGERS = tuple(t for _, triggers, _, _ in _PATTERNS for t in triggers) + _ASSIGNMENT_TRIGGERS


def redact(text: str) -> str:
    """Replace secrets with [REDACTED:kind] markers. Never raises."""
    try:
        if not text:
            return text
        # Lowercased ASCII image: much faster than str.lower() on text holding any non-ASCII.
        low = text.encode("ascii", "replace").lower()
        if _ANY_TRIGGER_RE.search(low) is None:
            return text
        for _, triggers, pattern, replacement in _PATTERNS:
            for trigger in triggers:
                if trigger in low:
                    text = pattern.sub(replacement, text)
                    break
        for trigger in _ASSIGNMENT_TRIGGERS:
            if trigger in low:
                return _redact_assignments(text)
        return text
    except Exception:  # noqa: BLE001 - redaction must never break the stream
        return "[REDACTED:unredactable]"


# --- whole chunks: one hyperscan pass finds the lines worth redacting ---------------------------

# Looser than the patterns above (a superset of what they match), matched caselessly.
_CHUNK_PREFILTER = [
    rb"-----begin",
    rb"sk-[a-z0-9_-]{8}",
    rb"(?:akia|asia)[0-9a-z]{16}",
    rb"gh[pousr]_[a-z0-9]{20}",
    rb"github_pat_",
    rb"xox[abprs]-",
    rb"[sr]k_(?:live|test)_",
    rb"aiza[0-9a-z_-]{35}",
    rb"eyj[a-z0-9_-]{5}[a-z0-9_-]*\.eyj",
    rb"hooks\.slack\.com/",
    rb"private_key_id",
    rb"npm_[a-z0-9]{36}",
    rb"pypi-ageichlwas5vcmc",
    rb"(?:bearer|basic)\s",
    rb"://[^\s:/@]+:[^\s@/]+@",
    rb"(?:pass|pwd|secret|token|key|credential)[a-z]*[\"']?[ \t]*[:=]",
    rb"(?:aws|secret|akia|asia)[^\n]{0,%d}[a-z0-9/+]{%d}" % (AWS_SECRET_REACH, AWS_SECRET_LENGTH),
]
_PRIVATE_KEY_ID = 0
CHUNK_MIN = 2048  # below this, redact() itself is as quick


_chunk_db = _hyperscan_database(_CHUNK_PREFILTER)
_chunk_scratch = _hyperscan.Scratch(_chunk_db) if _chunk_db is not None else None
_chunk_lock = threading.Lock()


def redact_chunk(text: str) -> str:
    """redact() for a large chunk of output: the same result, from the lines that need it.

    Every pattern above is confined to a line (or, for an auth scheme, the line and the next),
    except a private key, which sends the whole chunk through redact(). One hyperscan pass over
    an ASCII image with the same offsets finds candidate lines; most chunks have none.
    """
    if len(text) < CHUNK_MIN or _chunk_db is None:
        return redact(text)
    try:
        image = text.encode("ascii", "replace")
        hits: list[tuple[int, int]] = []

        def on_match(pattern_id: int, _start: int, end: int, _flags: int, _ctx: object):
            hits.append((pattern_id, end))

        with _chunk_lock:  # one scratch space, shared by whoever redacts in this process
            _chunk_db.scan(image, match_event_handler=on_match, scratch=_chunk_scratch)
        if not hits:
            return text
        if any(pattern_id == _PRIVATE_KEY_ID for pattern_id, _ in hits):
            return redact(text)
        rfind, find = image.rfind, image.find
        windows = []
        for _, end in hits:
            # end - 1: a match may end with the newline after "Bearer".
            start = rfind(b"\n", 0, end - 1) + 1
            stop = find(b"\n", end)
            if stop >= 0:
                nxt = find(b"\n", stop + 1)
                stop = len(image) if nxt < 0 else nxt
            else:
                stop = len(image)
            windows.append((start, stop))
        windows.sort()
        merged = [list(windows[0])]
        for start, stop in windows[1:]:
            if start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        pieces = []
        pos = 0
        for start, stop in merged:
            pieces.append(text[pos:start])
            pieces.append(redact(text[start:stop]))
            pos = stop
        pieces.append(text[pos:])
        return "".join(pieces)
    except Exception:  # noqa: BLE001 - redaction must never break the stream
        return "[REDACTED:unredactable]"


# The tail that may be the start of a secret: the last token, plus a key name and separator
# before it ("password = hun" + "ter2") or an auth scheme ("Bearer eyJ").
_HOLD_RE = re.compile(
    r"(?i)(?:(?:[\"']?" + _KEY_NAME + r"[\"']?\s*[:=]\s*)|(?:bearer|basic)\s+)?[^\s]*\Z"
)
_LAST_TOKEN_RE = re.compile(r"\S*\Z")
_TOKEN_START_RE = re.compile(r"\S*")


def _may_name_a_coming_aws_secret(tail: str) -> bool:
    # A key not yet complete starts at most AWS_SECRET_LENGTH characters from the end, and the
    # word that names it lies within AWS_SECRET_REACH characters before its start.
    near_end = tail[-(AWS_SECRET_REACH + AWS_SECRET_LENGTH) :].lower()
    return any(word in near_end for word in _AWS_SECRET_NAMERS)


_BEGIN_KEY_RE = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_END_KEY_RE = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")

# Continuations a secret's start could get: random token characters (of every length, for
# the kinds of an exact length: an AWS secret key, a Google API key, an npm token), a URL's
# ":password@host" or "password@host", a JWT's next parts. If one of them would change how the
# text held so far is redacted, that text may be the start of a secret and cannot be shown yet.
_FILL = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4"
_CONTINUATIONS = (
    *(_FILL[:n] for n in range(1, len(_FILL) + 1)),
    _FILL[:8] + "@h",
    ":" + _FILL[:8] + "@h",
    ".eyJ" + _FILL[:12] + "." + _FILL[:12],
    _FILL[:12] + "." + _FILL[:12],
    "." + _FILL[:12],
)
UNFINISHED = "[REDACTED:unfinished]"


class StreamRedactor:
    """Redacts a chunked stream so that a secret split across chunks or pauses is still caught.

    Two things make that work. The unfinished last token of a chunk is held back (at most
    HOLD_MAX characters, never across a newline; the whole unfinished line while it has a word
    that names an AWS secret key close enough to its end for a key still to come), and the part
    of the current line already let out is kept as context, so that "API_KEY=" let out at a pause
    still makes the "value" that follows it a secret. Inside a private key block every line is
    withheld until the END line.

    When the program pauses (``flush(final=False)``), held text is let out unless it may be the
    start of a secret ("sk-proj-A1b2", "postgres://bob:hun"): that stays held until more output
    decides it, or until ``release_overdue()`` finds it held for HOLD_SECONDS, when it is
    replaced whole by UNFINISHED, and whatever continues it on the line is dropped.
    """

    HOLD_MAX = 4096
    HOLD_SECONDS = 2.0
    CONTEXT_MAX = 256

    def __init__(self) -> None:
        self._held = ""
        self._in_key = False
        self._line = ""  # what of the current line was let out (its last CONTEXT_MAX chars)
        self._held_since: float | None = None
        self._dropping = False  # the rest of a token replaced by UNFINISHED is still coming

    @property
    def holding_secret(self) -> bool:
        """A possible secret's start is held across a pause."""
        return self._held_since is not None

    def feed(self, text: str) -> str:
        try:
            return self._feed(text)
        except Exception:  # noqa: BLE001 - redaction must never break the stream
            return self._unredactable()

    def _unredactable(self) -> str:
        """What a failure lets out in place of the text: held text is dropped, never shown."""
        self._held = ""
        self._held_since = None
        return "[REDACTED:unredactable]"

    def _feed(self, text: str) -> str:
        if self._dropping:
            # The rest of a token let out as UNFINISHED is dropped, but stays context: what
            # follows it on the line is redacted as if the whole token had been seen.
            rest = _TOKEN_START_RE.match(text).end()
            self._line = (self._line + text[:rest])[-self.CONTEXT_MAX :]
            text = text[rest:]
            if not text:
                return ""
            self._dropping = False
        text = self._held + text
        self._held = ""
        if not text:
            return ""
        line_start = text.rfind("\n") + 1
        tail = text[line_start:]
        if tail:
            if len(tail) <= self.HOLD_MAX and _may_name_a_coming_aws_secret(self._line + tail):
                hold = tail
            else:
                m = _HOLD_RE.search(tail[-(self.HOLD_MAX + 1) :])
                hold = m.group(0) if m else ""
            if 0 < len(hold) <= self.HOLD_MAX:
                self._held = hold
                text = text[: len(text) - len(hold)]
        if not self._held or text:
            self._held_since = None
        return self._let_out(text)

    def _let_out(self, text: str) -> str:
        """Redact text that follows what was let out of the current line, and let it out."""
        if not text:
            return ""
        context = "" if self._in_key else self._line
        if context:
            shown = redact(context)
            out = self._redact_out(context + text)
            if out.startswith(shown):
                out = out[len(shown) :]
            else:
                # A secret began in text already let out (an unfinished start replaced, or a
                # start too short to match alone): repeat from where they differ, redacted.
                out = out[len(os.path.commonprefix([out, shown])) :]
        else:
            out = self._redact_out(text)
        nl = text.rfind("\n")
        self._line = (context + text if nl < 0 else text[nl + 1 :])[-self.CONTEXT_MAX :]
        return out

    def _redact_out(self, text: str) -> str:
        if self._in_key:
            end = _END_KEY_RE.search(text)
            if not end:
                # Keep the line structure so line numbers downstream stay right.
                return "\n" * text.count("\n")
            self._in_key = False
            text = "[REDACTED:private_key]" + text[end.end() :]
        out = redact_chunk(text)
        # The literal test first: a regex search of every chunk cost more than the test.
        begin = _BEGIN_KEY_RE.search(text) if "-----BEGIN" in text else None
        if begin and not _END_KEY_RE.search(text, begin.end()):
            self._in_key = True
        return out

    def _may_start_a_secret(self, held: str) -> bool:
        text = self._line + held
        if _BEGIN_KEY_RE.search(text):
            return True  # a private key's first line: its body comes on the next
        shown = redact(text)
        return any(not redact(text + more).startswith(shown) for more in _CONTINUATIONS)

    def flush(self, final: bool = True, now: float = 0.0) -> str:
        """Let out held text: at a pause only what cannot start a secret, at the end all of it
        (a secret start that nothing completed replaced whole by UNFINISHED).

        ``now`` (seconds, any clock) is when a kept secret start is first held, for
        release_overdue().
        """
        try:
            held = self._held
            if not held:
                return ""
            if not self._in_key and self._may_start_a_secret(held):
                if final:
                    return self._replace_held()
                if self._held_since is None:
                    self._held_since = now
                return ""
            self._held = ""
            self._held_since = None
            return self._let_out(held)
        except Exception:  # noqa: BLE001 - redaction must never break the stream
            return self._unredactable()

    def release_overdue(self, now: float) -> str:
        """A secret start held HOLD_SECONDS or longer is let out replaced whole by UNFINISHED."""
        if self._held_since is None or now - self._held_since < self.HOLD_SECONDS:
            return ""
        return self._replace_held()

    def _replace_held(self) -> str:
        held, self._held, self._held_since = self._held, "", None
        token = _LAST_TOKEN_RE.search(held).group(0)
        out = self._let_out(held[: len(held) - len(token)])
        self._line = (self._line + token)[-self.CONTEXT_MAX :]
        self._dropping = True
        return out + UNFINISHED
