"""What a terminal user sees: a `pyte` screen behind the tap, and the prompts found on it.

Claude Code and Codex draw their permission prompts with absolute cursor moves (Claude puts
``ESC [ n G`` between words instead of spaces, Codex places every cell), so the text the
extractor reads line by line never contains "Do you want to proceed?". A terminal emulator
does: this module renders the output into a screen and looks for the prompt there, with the
finders of ``registry.py`` (one module per agent).

``feed()`` sits on the tap's hot path (every output chunk) and only buffers. The work happens in
``idle()``, which the pipeline calls once the program has been quiet for ``IDLE_SECONDS`` — the
moment a program that waits for an answer has finished drawing its question.

Answers are described as a list of separate writes (``approve_writes``/``deny_writes`` in the
event's metadata): a TUI reading raw keys must see Enter as its own keystroke, and a lone Esc
must not be followed by other bytes, or it is read as the start of an escape sequence.
"""

from __future__ import annotations

import os

import pyte

from ..events import Event
from ..redact import redact
from ..risk import DEFAULT_POLICY, UNKNOWN_RISK, CommandPolicy, prompt_risk
from . import registry
from .layout import ESC, last_nonempty, strip_box
from .signals import (
    MAX_OSC_CARRY,
    OSC_SIGNAL,
    OSC_SIGNAL_RE,
    is_blocked_on_permission,
    parse_signal,
)
from .terminal import UNSUPPORTED_RE, TerminalScreen

# Past this much unrendered output, keep only the tail and start from a blank screen: a
# full-screen TUI redraws itself within a few KB, so the tail renders the same screen, and
# parsing megabytes of scrolled-away output would stall the tap at the next idle.
MAX_PENDING_CHARS = 256 * 1024
KEEP_TAIL_CHARS = 64 * 1024


class ScreenAnalyzer:
    """Renders a program's output and reports the permission prompts it shows.

    Not thread-safe: call everything from the tap's reader thread. Other threads (the dashboard)
    read ``last_screen`` — a string replaced, never mutated, at each render.
    """

    def __init__(
        self, cols: int, rows: int, policy: CommandPolicy | None = None, cwd: str | None = None
    ):
        self.policy = policy or DEFAULT_POLICY
        self.cwd = os.path.realpath(cwd) if cwd else None
        self._screen = TerminalScreen(max(cols, 2), max(rows, 2))
        self._stream = pyte.Stream(self._screen)
        self._pending: list[str] = []
        self._pending_chars = 0
        self._reset_before_render = False
        self._osc_carry = ""
        self.signal: dict | None = None
        self.signals_seen = 0
        self._signal_generation = 0
        self._reported_key: tuple | None = None
        self._signal_reported_generation = 0
        self._screen_reported_generation = 0
        self._rows: list[str] = [""] * self._screen.lines
        self.last_screen = ""
        self.truncations = 0
        self.renders = 0
        self._idle_seen: tuple[int, int] | None = None

    # ---- hot path ----

    def feed(self, text: str) -> None:
        """Buffer a chunk of output. O(len(text)) only for the OSC check; no terminal emulation."""
        if not text:
            return
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars > MAX_PENDING_CHARS:
            self._truncate_pending()
        if self._osc_carry or OSC_SIGNAL in text or ESC in text[-6:]:
            self._scan_signals(text)

    def _truncate_pending(self) -> None:
        tail = "".join(self._pending)[-KEEP_TAIL_CHARS:]
        # Start at a line or a sequence boundary so the tail does not begin mid-escape.
        cut = min((i for i in (tail.find("\n"), tail.find(ESC)) if i >= 0), default=0)
        tail = tail[cut:]
        self._pending = [tail]
        self._pending_chars = len(tail)
        self._reset_before_render = True
        self.truncations += 1

    def _scan_signals(self, text: str) -> None:
        data = self._osc_carry + text
        self._osc_carry = ""
        end = 0
        if OSC_SIGNAL in data:
            for m in OSC_SIGNAL_RE.finditer(data):
                end = m.end()
                signal = parse_signal(m.group(1))
                if signal is not None:
                    self._set_signal(signal)
            start = data.rfind(OSC_SIGNAL, end)
            if start >= 0:
                # Unterminated: the rest arrives in the next chunk.
                self._osc_carry = data[start:][:MAX_OSC_CARRY]
                return
        # The chunk may end with the first bytes of "\x1b]7501".
        tail = data[-(len(OSC_SIGNAL) - 1) :]
        i = tail.rfind(ESC)
        if i >= 0 and OSC_SIGNAL.startswith(tail[i:]):
            self._osc_carry = tail[i:]

    def _set_signal(self, signal: dict) -> None:
        was_blocked = is_blocked_on_permission(self.signal)
        self.signal = signal
        self.signals_seen += 1
        if is_blocked_on_permission(signal) and not was_blocked:
            self._signal_generation += 1

    # ---- rendering ----

    def _render(self) -> None:
        if self._reset_before_render:
            in_alt = self._screen.in_alt_screen
            self._screen.reset()
            self._screen.in_alt_screen = in_alt
            self._stream = pyte.Stream(self._screen)
            self._reset_before_render = False
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._pending_chars = 0
        if ESC in text:
            text = UNSUPPORTED_RE.sub("", text)
        try:
            self._stream.feed(text)
        except Exception:  # noqa: BLE001 - a parser bug must not stop the tap
            # pyte resets its parser after an exception; the next redraw repairs the screen.
            self._stream = pyte.Stream(self._screen)
        self._rows = self._screen.rows_text()
        self.last_screen = "\n".join(self._rows).rstrip("\n")
        self.renders += 1

    def resize(self, cols: int, rows: int) -> None:
        self._render()
        self._screen.resize(lines=max(rows, 2), columns=max(cols, 2))
        self._rows = self._screen.rows_text()
        self.last_screen = "\n".join(self._rows).rstrip("\n")
        self.renders += 1

    @property
    def height(self) -> int:
        """The rows on the screen: no line further up than this is still drawn."""
        return self._screen.lines

    def cursor_position(self) -> tuple[int, int]:
        """(row, col), 1-based, as a terminal answers ``ESC [ 6 n``."""
        self._render()
        cursor = self._screen.cursor
        return min(cursor.y, self._screen.lines - 1) + 1, min(
            cursor.x, self._screen.columns - 1
        ) + 1

    def screen_text(self) -> str:
        self._render()
        return self.last_screen

    @property
    def pending_chars(self) -> int:
        """Output buffered by ``feed()`` and not rendered yet."""
        return self._pending_chars

    @property
    def in_alt_screen(self) -> bool:
        return self._screen.in_alt_screen

    # ---- prompts ----

    def idle(self, line_no: int = 0) -> list[Event]:
        """Render what arrived since the last call; one event per newly appeared prompt."""
        self._render()
        # Nothing drawn and no signal since the last look: the answer cannot have changed.
        stamp = (self.renders, self.signals_seen)
        if stamp == self._idle_seen:
            return []
        self._idle_seen = stamp
        rows = self._rows
        found = self.find_prompt(rows, self._screen.cursor.y)
        generation = self._signal_generation
        blocked = is_blocked_on_permission(self.signal)
        if found is None:
            self._reported_key = None
            if (
                blocked
                and self._signal_reported_generation != generation
                and self._screen_reported_generation != generation
            ):
                self._signal_reported_generation = generation
                return [self._signal_event(rows, line_no)]
            return []
        key = (found["program"], found["question"], found.get("command"), found.get("file"),
               tuple(o["label"] for o in found["options"]))  # fmt: skip
        if key == self._reported_key:
            return []
        self._reported_key = key
        if blocked:
            first_on_screen = self._screen_reported_generation != generation
            self._screen_reported_generation = generation
            if first_on_screen and self._signal_reported_generation == generation:
                # The signal's event already stood for this prompt, drawn after it.
                return []
        return [self._prompt_event(found, rows, line_no)]

    def find_prompt(self, rows: list[str], cursor_row: int = -1) -> dict | None:
        """The prompt on a rendered screen: a menu (Claude, Codex) or the last line's question."""
        lines = [strip_box(r) for r in rows]
        last = last_nonempty(lines)
        if last < 0:
            return None
        for finder in registry.FINDERS:
            found = finder(lines, last, cursor_row)
            if found is not None:
                return found
        return None

    # ---- events ----

    def _risk(self, found: dict) -> str:
        if found.get("risk"):
            return found["risk"]
        command, file = found.get("command"), found.get("file")
        if command:
            return self.policy.risk_for_command(command)
        if file:
            return "high" if self._outside_cwd(file) else "medium"
        if found["program"] in ("claude", "codex"):
            # An agent's permission box whose command and file could not be read: fail safe.
            return UNKNOWN_RISK
        risk, command = prompt_risk(found["question"], found.get("block", ""), self.policy)
        if command:
            found["command"] = command
        return risk

    def _outside_cwd(self, path: str) -> bool:
        if path.startswith("~"):
            return True
        if os.path.isabs(path):
            return self.cwd is None or not os.path.realpath(path).startswith(self.cwd + os.sep)
        return os.path.normpath(path).startswith("..")

    def _prompt_event(self, found: dict, rows: list[str], line_no: int) -> Event:
        risk = self._risk(found)
        program = found["program"]
        rule = found.get("rule") or {
            "claude": "claude_permission",
            "codex": "codex_permission",
        }.get(program, "screen_menu")
        command = found.get("command")
        meta = {
            "program": program,
            "question": redact(found["question"]),
            "command": redact(command) if command else None,
            "file": found.get("file"),
            "options": found["options"],
            "approve_key": found["approve_key"],
            "deny_key": found.get("deny_key"),
            "approve_writes": found["approve_writes"],
            "deny_writes": found["deny_writes"],
            "screen": redact("\n".join(rows).rstrip("\n")),
            "signal": self.signal,
        }
        for extra in ("reason", "description"):
            if found.get(extra):
                meta[extra] = redact(found[extra])
        if found.get("menu"):
            meta["menu"] = found["menu"]
        auto = risk == "low" and bool(found["approve_writes"])
        content = redact(found.get("content") or found.get("block") or found["question"])
        context = redact(found.get("context", ""))
        return Event("prompt", rule, "info", risk, auto, line_no, line_no, content, context, meta)

    def _signal_event(self, rows: list[str], line_no: int) -> Event:
        signal = self.signal or {}
        app = signal.get("app") or "unknown"
        question = signal.get("msg") or "Permission requested"
        nonempty = [r for r in rows if r.strip()]
        # Without the screen's menu we only know the keys a program's own docs promise.
        approve, deny = {"codex": ("y", ESC), "claude": ("1", ESC)}.get(app, (None, ESC))
        meta = {
            "program": app,
            "question": redact(question),
            "command": None,
            "file": None,
            "options": [],
            "approve_key": approve,
            "deny_key": deny,
            "approve_writes": [approve] if approve else [],
            "deny_writes": [deny],
            "screen": redact("\n".join(rows).rstrip("\n")),
            "signal": signal,
        }
        risk, command = prompt_risk(question, "\n".join(nonempty[-8:]), self.policy)
        if command:
            meta["command"] = redact(command)
        content = redact("\n".join(nonempty[-10:]) or question)
        # What is asked is a guess here: never answer it automatically.
        return Event(
            "prompt", "osc_permission", "info", risk, False, line_no, line_no, content, "", meta
        )
