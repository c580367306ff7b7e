"""Deprecated: the screen view moved into the engine, ``extraction.engine.screen``.

Kept for one release so that imports from here keep working; new code imports from the engine.
"""

from extraction.engine.screen import (
    KEEP_TAIL_CHARS,
    MAX_PENDING_CHARS,
    ScreenAnalyzer,
    is_blocked_on_permission,
    option_kind,
    parse_signal,
)

__all__ = [
    "KEEP_TAIL_CHARS",
    "MAX_PENDING_CHARS",
    "ScreenAnalyzer",
    "is_blocked_on_permission",
    "option_kind",
    "parse_signal",
]
