"""Which screen prompt finders run, in which order: supporting a new agent is a module beside
``claude.py`` and ``codex.py`` and a line here.

A finder takes the rendered rows (box borders stripped), the index of the last non-empty row and
the cursor's row, and returns what it found (a dict: program, question, options, answer keys…)
or None. The first finder that finds something wins, so a specific one comes before a general
one that would also match.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from . import aider, claude, codex, generic

Finder = Callable[[list[str], int, int], dict | None]

# Agents that may have drawn a numbered menu, asked in this order which one did (Codex first:
# its letter shortcuts are certain, Claude's cursor "❯" is not its own).
MENU_AGENTS = (codex, claude)

FINDERS: list[Finder] = [
    partial(generic.find_numbered_menu, agents=MENU_AGENTS),
    codex.find_trust_dialog,
    generic.find_arrow_menu,
    aider.find_confirm,
    generic.find_yes_no,
]
