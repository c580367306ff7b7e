"""The screen view: what a terminal user sees (a `pyte` screen) and the prompts found on it.

``analyzer.ScreenAnalyzer`` renders and reports; ``registry.py`` lists the prompt finders, one
module per agent (``claude.py``, ``codex.py``, ``aider.py``) and ``generic.py`` for the rest;
``signals.py`` is the OSC 7501 protocol; ``terminal.py`` the emulator.
"""

from .analyzer import KEEP_TAIL_CHARS, MAX_PENDING_CHARS, ScreenAnalyzer
from .layout import option_kind
from .signals import is_blocked_on_permission, parse_signal

__all__ = [
    "KEEP_TAIL_CHARS",
    "MAX_PENDING_CHARS",
    "ScreenAnalyzer",
    "is_blocked_on_permission",
    "option_kind",
    "parse_signal",
]
