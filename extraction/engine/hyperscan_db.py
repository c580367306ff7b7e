"""Hyperscan databases: compiled once per set of expressions, cached on disk between runs.

Hyperscan is an optional accelerator: one pass of a compiled multi-pattern matcher per chunk
picks the lines the rules (``rules.RuleSet``) and the redaction prefilter (``redact``) look at.
Without it (not installed, a CPU it does not support, ``STREAMTAP_HYPERSCAN=0``) they fall
back to plain regular-expression sweeps, which find the same lines.
"""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

try:
    import hyperscan
except Exception:  # noqa: BLE001 - any import failure means the pure-Python sweeps
    hyperscan = None

# Whether databases built from now on use hyperscan when it is installed (the events are the
# same either way). STREAMTAP_HYPERSCAN=0 turns it off.
USE_HYPERSCAN = os.environ.get("STREAMTAP_HYPERSCAN", "1") != "0"


def database(expressions: list[bytes], *, cached: bool = True):
    """A compiled hyperscan database for these expressions (caseless), or None (not installed,
    or it fails). The rule sweeps and the redaction prefilter both come from here.

    Compiling the built-in sweeps takes about 0.15 s, a quarter of a tap's start-up; the
    compiled database is kept in the user's cache directory and loaded in well under 1 ms.
    ``cached=False`` for a set of plain literals, which compiles in ~2 ms: not worth a file.
    """
    if hyperscan is None or not USE_HYPERSCAN:
        return None
    cache = cache_path(expressions) if cached else None
    if cache is not None:
        try:
            stored = cache.read_bytes()
            # A digest first: a damaged file must be recompiled, never handed to the matcher.
            if hashlib.sha256(stored[32:]).digest() == stored[:32]:
                return hyperscan.loadb(stored[32:], hyperscan.HS_MODE_BLOCK)
        except Exception:  # noqa: BLE001 - absent, unreadable or from another build: compile
            pass
    try:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            flags=[hyperscan.HS_FLAG_CASELESS] * len(expressions),
        )
    except Exception:  # noqa: BLE001 - e.g. a CPU it does not support: use the sweeps
        return None
    if cache is not None:
        data = hyperscan.dumpb(db)
        _store_quietly(cache, hashlib.sha256(data).digest() + data)
    return db


def cache_path(expressions: list[bytes]):
    """Where the compiled database for these expressions is cached (None: no cache).

    The key covers everything the compiled form depends on: the expressions and flags, the
    hyperscan build and the CPU's features (a database is compiled for the host it runs on).
    """
    root = os.environ.get("STREAMTAP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "streamtap"
    )
    if root == "off":
        return None
    key = hashlib.sha256()
    for part in (hyperscan.__file__ or "", getattr(hyperscan, "__version__", ""), _cpu_flags()):
        key.update(part.encode() + b"\0")
    for expression in expressions:
        key.update(b"%d:" % len(expression) + expression)
    key.update(b"caseless,block")
    return Path(root) / f"hyperscan-{key.hexdigest()[:32]}.db"


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return line
    except OSError:
        pass
    return platform.machine()


def _store_quietly(path, data: bytes) -> None:
    """Write atomically into a private directory; a cache that cannot be written is no error."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass
