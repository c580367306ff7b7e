"""What the keys typed at the terminal answered to a waiting prompt: approve, deny or unknown.

A keystroke is not consent. The keys are read against the prompt's own options: an option's
key or shortcut (Claude's digits, Codex's letters), arrow keys and Enter on a menu (the
highlighted option is tracked), a line answer ended by Enter (``y``, ``no``, aider's ``d``,
or Enter alone for the default), and Esc, Ctrl-C or Ctrl-D, which cancel. Anything that
matches no option is ``unknown``: recorded as such, never taken as an approval.
"""

from __future__ import annotations

import re

from extraction.engine.prompts import NO_WORDS, YES_WORDS

from ..screen import option_kind

APPROVE, DENY, UNKNOWN = "approve", "deny", "unknown"
_KIND_OUTCOME = {"approve_once": APPROVE, "approve_always": APPROVE, "switch_mode": APPROVE,
                 "deny": DENY}  # fmt: skip
CANCEL_KEYS = frozenset("\x03\x04")  # Ctrl-C, Ctrl-D
ENTER_KEYS = frozenset("\r\n")
ERASE_KEYS = frozenset("\x7f\x08")
# One key per match: an escape sequence (CSI or SS3), Esc with a following key (Alt+key), a
# lone Esc, or one character.
_KEY_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1bO.|\x1b.|\x1b|.", re.S)
_UP = frozenset({"\x1b[A", "\x1bOA"})
_DOWN = frozenset({"\x1b[B", "\x1bOB"})
# Keys that change nothing on a menu: focus reports and bracketed-paste markers.
_INERT = frozenset({"\x1b[I", "\x1b[O"})
_LINE_WORDS = {**dict.fromkeys(YES_WORDS, APPROVE), **dict.fromkeys(NO_WORDS, DENY)}


def option_outcome(option: dict) -> str:
    return _KIND_OUTCOME.get(option.get("kind") or option_kind(option.get("label", "")), UNKNOWN)


class TerminalAnswer:
    """Reads the keys typed while one prompt waits; ``feed()`` returns the outcome once known."""

    def __init__(self, metadata: dict):
        self.options = [o for o in metadata.get("options") or [] if isinstance(o, dict)]
        self.secret = bool(metadata.get("secret_input"))
        approve_writes = metadata.get("approve_writes")
        # A menu acts on one key (Claude's "1", Codex's "y": no Enter among its answer's writes)
        # or on the arrow keys and Enter (an unnumbered menu).
        one_key = bool(approve_writes) and "\r" not in approve_writes
        self.menu = (one_key or metadata.get("menu") == "arrows") and not self.secret
        # Codex acts on its letter shortcuts; its option numbers only move the highlight.
        self.numbers_move = metadata.get("program") == "codex"
        selected = [i for i, o in enumerate(self.options) if o.get("selected")]
        self.highlight = selected[0] if selected else 0
        self.approve_key = metadata.get("approve_key")
        self.typed = ""
        self.other_keys = False
        self.keys = ""

    def feed(self, text: str) -> str | None:
        for m in _KEY_RE.finditer(text):
            key = m.group(0)
            self.keys = (self.keys + key)[-64:]
            outcome = self._key(key)
            if outcome is not None:
                return outcome
        return None

    def _key(self, key: str) -> str | None:
        if key == "\x1b" or key in CANCEL_KEYS:
            return DENY
        if key in ENTER_KEYS:
            return self._enter()
        if self.menu and not self.options:
            # Known only from a program's signal: its documented approve key, nothing else.
            return APPROVE if key == self.approve_key else None
        if self.menu:
            if key in _UP or key in _DOWN:
                step = -1 if key in _UP else 1
                self.highlight = (self.highlight + step) % len(self.options)
                return None
            option = self._option_for(key)
            if option is None:
                # Something else was typed (Claude's Tab to amend, a message): Enter after it
                # does not simply take the highlighted option.
                self.other_keys = self.other_keys or key not in _INERT
                return None
            if self.numbers_move and key == str(option.get("key")):
                self.highlight = self.options.index(option)
                return None
            return option_outcome(option)
        if key in ERASE_KEYS:
            self.typed = self.typed[:-1]
        elif key == "\x15":  # Ctrl-U clears the line
            self.typed = ""
        elif key.isprintable() and len(key) == 1:
            self.typed += key
        return None

    def _option_for(self, key: str) -> dict | None:
        key = key.lower()
        return next(
            (o for o in self.options if key in (str(o.get("key", "")).lower(), o.get("shortcut"))),
            None,
        )

    def _enter(self) -> str:
        if self.secret:
            # A password was typed (or not): it answers nothing we can judge.
            return UNKNOWN
        if self.menu:
            if not self.options or self.other_keys:
                return UNKNOWN
            return option_outcome(self.options[self.highlight])
        answer = self.typed.strip().lower()
        if not answer:
            default = next((o for o in self.options if o.get("default")), None)
            return option_outcome(default) if default is not None else UNKNOWN
        for option in self.options:
            key, label = str(option.get("key", "")).lower(), str(option.get("label", "")).lower()
            if answer in (key, label):
                return option_outcome(option)
        return _LINE_WORDS.get(answer, UNKNOWN) if not self.options else UNKNOWN
