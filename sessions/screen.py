"""What a terminal user sees: a `pyte` screen behind the tap, and the prompts found on it.

Claude Code and Codex draw their permission prompts with absolute cursor moves (Claude puts
``ESC [ n G`` between words instead of spaces, Codex places every cell), so the text the
extractor reads line by line never contains "Do you want to proceed?". A terminal emulator
does: this module renders the output into a screen and looks for the prompt there.

``feed()`` sits on the tap's hot path (every output chunk) and only buffers. The work happens in
``idle()``, which the pipeline calls once the program has been quiet for ``IDLE_SECONDS`` — the
moment a program that waits for an answer has finished drawing its question.

Answers are described as a list of separate writes (``approve_writes``/``deny_writes`` in the
event's metadata): a TUI reading raw keys must see Enter as its own keystroke, and a lone Esc
must not be followed by other bytes, or it is read as the start of an escape sequence.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

import pyte
from pyte import modes
from wcwidth import wcwidth

from extraction.engine.events import Event
from extraction.engine.prompts import (
    LETTER_OPTIONS_RE,
    RM_RE,
    YES_NO_RE,
    build_letter_options,
    build_yes_no,
)
from extraction.engine.redact import redact
from extraction.engine.risk import DEFAULT_POLICY, UNKNOWN_RISK, CommandPolicy, prompt_risk

# Past this much unrendered output, keep only the tail and start from a blank screen: a
# full-screen TUI redraws itself within a few KB, so the tail renders the same screen, and
# parsing megabytes of scrolled-away output would stall the tap at the next idle.
MAX_PENDING_CHARS = 256 * 1024
KEEP_TAIL_CHARS = 64 * 1024

ESC = "\x1b"
ENTER = "\r"
ARROW_UP, ARROW_DOWN = "\x1b[A", "\x1b[B"
OSC_SIGNAL = "\x1b]7501"
# A complete OSC 7501 sequence, terminated by BEL or ST (ESC \).
_OSC_SIGNAL_RE = re.compile(r"\x1b\]7501;([^\x07\x1b]*)(?:\x07|\x1b\\)")
_SIGNAL_FIELD_RE = re.compile(r"[:;](?=[A-Za-z_]+=)")
MAX_OSC_CARRY = 4096

# Sequences pyte mis-parses and would draw as text: DCS/APC/PM/SOS strings (XTGETTCAP, kitty
# graphics, tmux passthrough), CSI with "<"/"=" (kitty keyboard protocol) and colon-separated
# SGR (underline styles, some truecolour). Dropping them loses only styling.
#
# Colours and styles (SGR) go too, before pyte sees them: prompts are found from characters and
# positions, and pyte parses escape sequences one character at a time — on a TUI that colours
# every word, SGR is most of the bytes and most of the render time.
_UNSUPPORTED_RE = re.compile(
    r"\x1b[P_^X][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b\[[<=][0-9;:]*[ -/]*[@-~]"
    r"|\x1b\[[0-9;:]*m"
)
# DEC private modes that switch to the alternate screen (1049 also saves the cursor).
ALT_SCREEN_MODES = frozenset({47, 1047, 1049})

# Box borders drawn around prompts (Claude Code's older versions frame them).
_BOX_CHARS = "│┃║|╭╮╰╯┌┐└┘"
_RULE_RE = re.compile(r"^\s*[─━═╌┄╭╮╰╯┌┐└┘\-]{8,}\s*$")
# Claude Code 2.1.3xx sets the command between two dashed rules, right above the question.
_DASHED_RULE_RE = re.compile(r"^\s*╌{8,}\s*$")
_TIP_RE = re.compile(r"^Tip:\s")
_QUESTION_ASIDE_RE = re.compile(r"\?\s+\(")
_FENCE_RE = re.compile(r"^\s*(?:```|~~~)")
_MENU_ITEM_RE = re.compile(
    r"^(?P<indent>\s*)(?P<cursor>[❯›>▶→➤]\s*)?(?P<key>\d{1,2})[.)]\s+(?P<label>\S.*?)\s*$"
)
# Codex puts the shortcut at the end of each option: "Yes, proceed (y)".
_SHORTCUT_RE = re.compile(r"\s*\((?P<key>[a-z]|esc|enter)\)$", re.IGNORECASE)
_CANCEL_HINT_RE = re.compile(
    r"(?i)\besc(?:ape)? to (?:cancel|exit|go back)\b|\bpress enter to confirm\b"
)
_QUESTION_SEARCH_LINES = 14
_MAX_LINES_AFTER_MENU = 5
# Claude Code's headers above what it asks, and where the command sits under them.
_CLAUDE_COMMAND_HEADERS = re.compile(r"(?i)^(?:bash(?: command)?|run command|shell command)$")
_FILE_IN_QUESTION_RE = re.compile(
    r"(?i)\b(?:edit to|edits to|create|overwrite|write to|delete|update|read)\s+`?(?P<file>[\w./~-]+\.[\w]+|[\w.~-]*/[\w./~-]+)`?\s*\?\s*$"
)
_CODEX_FILE_RE = re.compile(r"^(?:[•└─\s]*)(?P<file>[\w./~-]+)\s+\(\+\d+\s+-\d+\)\s*$")
_DESCRIPTION_RE = re.compile(r"^[A-Z][a-z]+(?:\s+[\w'(),/.-]+)*\.?$")

# What an option does, judged from its label; the first match wins, so "Yes, and switch to
# auto mode" is a mode switch and "Yes, and don't ask again" a permanent approval.
_OPTION_KINDS: list[tuple[str, re.Pattern]] = [
    (
        "switch_mode",
        re.compile(r"(?i)\b(?:auto[- ]?(?:mode|accept)|switch to|bypass|plan mode|accept edits)\b"),
    ),
    (
        "approve_always",
        re.compile(
            r"(?i)\b(?:always|don'?t ask|do not ask|never ask|for this session|for the session|"
            r"allow all|from this project|permanently|remember|for all)\b"
        ),
    ),
    (
        "approve_once",
        re.compile(r"(?i)^(?:yes\b|allow(?: once)?\b|approve\b|proceed\b|run\b|ok\b)"),
    ),
    ("deny", re.compile(r"(?i)^(?:no\b|deny\b|reject\b|cancel\b|abort\b|exit\b|skip\b|don'?t\b)")),
]


def option_kind(label: str) -> str:
    # Claude Code writes "don’t" with a typographic apostrophe.
    label = label.replace("\u2019", "'").replace("\u2018", "'")
    for kind, pattern in _OPTION_KINDS:
        if pattern.search(label):
            return kind
    return "other"


_SINGLE_WIDTH: dict[str, bool] = {}


def _single_width(text: str) -> bool:
    """Every character takes exactly one cell (ASCII text, box drawing, "❯", "›")."""
    if text.isascii():
        return text.isprintable()
    for char in set(text):
        single = _SINGLE_WIDTH.get(char)
        if single is None:
            single = _SINGLE_WIDTH[char] = wcwidth(char) == 1
        if not single:
            return False
    return True


class _Screen(pyte.Screen):
    """pyte's screen plus the alternate screen buffer, which pyte ignores, and a faster draw.

    Entering the alternate screen saves the main screen and clears; leaving restores the main
    screen, as xterm does.
    """

    def __init__(self, columns: int, lines: int):
        super().__init__(columns, lines)
        self.in_alt_screen = False
        self._saved_main: tuple[dict, pyte.screens.Cursor] | None = None
        self._cell_attrs = None
        self._cells: dict[str, pyte.screens.Char] = {}

    def draw(self, data: str) -> None:
        # pyte's draw() costs a few microseconds per character (wcwidth, mode checks), which
        # makes a full 80x24 redraw take ~6 ms. Runs of single-width characters in the usual
        # modes are written a row segment at a time instead; anything else goes to pyte.
        if (
            self.charset
            or modes.IRM in self.mode
            or modes.DECAWM not in self.mode
            or not _single_width(data)
        ):
            super().draw(data)
            return
        cursor = self.cursor
        attrs = cursor.attrs
        if attrs is not self._cell_attrs:
            self._cell_attrs, self._cells = attrs, {}
        cells = self._cells
        columns = self.columns
        while data:
            if cursor.x >= columns:
                self.dirty.add(cursor.y)
                self.carriage_return()
                self.linefeed()
            x = cursor.x
            part, data = data[: columns - x], data[columns - x :]
            chars = [cells.get(c) or cells.setdefault(c, attrs._replace(data=c)) for c in part]
            self.buffer[cursor.y].update(zip(range(x, x + len(part)), chars, strict=True))
            cursor.x = x + len(part)
        self.dirty.add(cursor.y)

    def set_mode(self, *modes: int, **kwargs) -> None:
        if kwargs.get("private") and ALT_SCREEN_MODES.intersection(modes):
            self.enter_alt_screen()
            modes = tuple(m for m in modes if m not in ALT_SCREEN_MODES)
            if not modes:
                return
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs) -> None:
        if kwargs.get("private") and ALT_SCREEN_MODES.intersection(modes):
            self.leave_alt_screen()
            modes = tuple(m for m in modes if m not in ALT_SCREEN_MODES)
            if not modes:
                return
        super().reset_mode(*modes, **kwargs)

    def enter_alt_screen(self) -> None:
        if not self.in_alt_screen:
            saved = {y: dict(line) for y, line in self.buffer.items() if line}
            self._saved_main = (
                saved,
                pyte.screens.Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs),
            )
            self.in_alt_screen = True
        self.erase_in_display(2)
        self.cursor_position()

    def leave_alt_screen(self) -> None:
        if not self.in_alt_screen:
            return
        self.in_alt_screen = False
        self.buffer.clear()
        if self._saved_main is not None:
            saved, cursor = self._saved_main
            for y, cells in saved.items():
                self.buffer[y].update(cells)
            self.cursor.x, self.cursor.y = (
                min(cursor.x, self.columns - 1),
                min(cursor.y, self.lines - 1),
            )
            self._saved_main = None
        self.dirty.update(range(self.lines))

    def rows_text(self) -> list[str]:
        """The screen as lines, right-stripped; faster than ``display`` (no wcwidth per cell)."""
        columns = self.columns
        rows = []
        buffer = self.buffer
        for y in range(self.lines):
            line = buffer.get(y)
            if not line:
                rows.append("")
                continue
            cells = [" "] * columns
            for x, char in line.items():
                if x < columns:
                    # A wide character's second cell holds "" and must vanish.
                    cells[x] = char.data
            rows.append("".join(cells).rstrip())
        return rows


def parse_signal(payload: str) -> dict | None:
    """``state=blocked:app=codex:kind=permission[:msg=<base64>]`` as a dict; None for a query."""
    payload = payload.strip()
    if not payload or payload == "?":
        return None
    signal: dict = {}
    for part in _SIGNAL_FIELD_RE.split(payload):
        key, sep, value = part.partition("=")
        if sep:
            signal[key.strip()] = value.strip()
    if "msg" in signal:
        try:
            signal["msg"] = base64.b64decode(
                signal["msg"] + "=" * (-len(signal["msg"]) % 4)
            ).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            pass
    signal["raw"] = payload
    return signal if "state" in signal else None


def is_blocked_on_permission(signal: dict | None) -> bool:
    return bool(
        signal
        and signal.get("state", "").startswith("blocked")
        and "permission" in (signal.get("kind", "") + signal.get("state", ""))
    )


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
        self._screen = _Screen(max(cols, 2), max(rows, 2))
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
            for m in _OSC_SIGNAL_RE.finditer(data):
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
            text = _UNSUPPORTED_RE.sub("", text)
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
        lines = [_strip_box(r) for r in rows]
        last = _last_nonempty(lines)
        if last < 0:
            return None
        return (
            self._find_menu(lines, last)
            or _find_codex_trust(lines, last)
            or _find_arrow_menu(lines, last)
            or self._find_line_prompt(lines, last, cursor_row)
        )

    def _find_menu(self, lines: list[str], last: int) -> dict | None:
        items = _last_menu(lines, last)
        if items is None:
            return None
        first_row, last_row = items[0][0], items[-1][0]
        below = [ln for ln in lines[last_row + 1 : last + 1] if ln.strip()]
        if len(below) > _MAX_LINES_AFTER_MENU or _inside_fence(lines, first_row):
            return None
        q_row = _question_row(lines, first_row)
        if q_row is None:
            return None
        has_cursor = any(m.group("cursor") for _, m in items)
        hints = [ln.strip() for ln in below if _CANCEL_HINT_RE.search(ln)]
        if not (has_cursor or hints):
            return None
        options = []
        for _, m in items:
            label = m.group("label")
            shortcut = _SHORTCUT_RE.search(label)
            option = {"key": m.group("key"), "label": label, "kind": option_kind(label)}
            if shortcut:
                option["shortcut"] = shortcut.group("key").lower()
            if m.group("cursor"):
                option["selected"] = True
            options.append(option)
        question = _question_of(lines[q_row])
        block_start = _block_start(lines, q_row)
        context = lines[block_start:q_row]
        between = lines[q_row + 1 : first_row]
        # Codex ends options with a letter shortcut ("(y)", "(p)"); Claude only with "(esc)".
        codex = question.startswith("Would you like to") or any(
            o.get("shortcut", "esc") not in ("esc", "enter") for o in options
        )
        program = (
            "codex" if codex else ("claude" if hints or "❯" in lines[first_row] else "generic")
        )
        found = {
            "program": program,
            "question": question,
            "options": options,
            "hints": hints,
            "block": _dedent(lines[block_start : last_row + 1] + hints_rows(lines, last_row, last)),
        }
        if program == "codex":
            _codex_details(found, between)
        elif not _claude_ruled_command(found, lines, q_row):
            _claude_details(found, context, question)
        _answer_keys(found)
        if found["approve_key"] is None and not any(o["kind"] != "other" for o in options):
            return None
        _first_run_dialog(found)
        return found

    def _find_line_prompt(self, lines: list[str], last: int, cursor_row: int) -> dict | None:
        # A line prompt waits with the cursor on its line; an answered one has moved on.
        if cursor_row >= 0 and cursor_row != last:
            return None
        if _inside_fence(lines, last):
            return None
        line = lines[last].rstrip()
        m = LETTER_OPTIONS_RE.match(line)
        if m and "/" in m.group("opts") and (meta := build_letter_options(m, line)):
            found = {"program": "aider", **meta, "rule": "aider_confirm"}
            found["options"] = [dict(o, kind=option_kind(o["label"])) for o in found["options"]]
            above = _paragraph_above(lines, last)
            if re.search(r"(?i)\bshell command", found["question"]) and above:
                found["command"] = "\n".join(s.strip() for s in above)
            elif above and re.search(r"(?i)\bfile\b", found["question"]):
                found["file"] = above[-1].strip()
            found["block"] = _dedent([*above, line])
            found["approve_writes"] = ["y", ENTER]
            found["deny_writes"] = ["n", ENTER]
            found["deny_key"] = "n"
            return found
        m = YES_NO_RE.match(line) or None
        meta = build_yes_no(m, line) if m else None
        if meta is None and (m := RM_RE.match(line)):
            meta = {"question": m.group("question").strip(), "options": [
                {"key": "y", "label": "yes"}, {"key": "n", "label": "no"}], "approve_key": "y"}  # fmt: skip
        if meta is None:
            return None
        options = [dict(o, kind=option_kind(o["label"])) for o in meta["options"]]
        deny = next((o["key"] for o in options if o["kind"] == "deny"), None)
        above = _paragraph_above(lines, last)[-3:]
        found = {
            "program": "generic",
            "rule": "screen_yes_no",
            "question": meta["question"],
            "options": options,
            "approve_key": meta["approve_key"],
            "deny_key": deny,
            "approve_writes": [meta["approve_key"], ENTER],
            "deny_writes": [deny, ENTER] if deny else [ESC],
            "block": _dedent([*above, line]),
            # The event reads like the extractor's line prompts: the question's line as its
            # content, what the screen showed above it as its context (and for its risk).
            "content": line.strip(),
            "context": "\n".join(above),
        }
        return found

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


def hints_rows(lines: list[str], last_row: int, last: int) -> list[str]:
    return [ln for ln in lines[last_row + 1 : last + 1] if _CANCEL_HINT_RE.search(ln)]


def _strip_box(line: str) -> str:
    stripped = line.strip()
    if stripped[:1] in _BOX_CHARS and stripped[-1:] in _BOX_CHARS and len(stripped) > 1:
        indent = len(line) - len(line.lstrip())
        return (" " * (indent + 1) + stripped[1:-1]).rstrip()
    return line


def _last_nonempty(lines: list[str]) -> int:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            return i
    return -1


def _last_menu(lines: list[str], last: int) -> list[tuple[int, re.Match]] | None:
    """The lowest run of consecutively numbered items (1, 2, 3…), wrapped labels joined."""
    end = None
    for i in range(last, -1, -1):
        m = _MENU_ITEM_RE.match(lines[i])
        if m:
            end = i
            break
    if end is None:
        return None
    items: list[tuple[int, re.Match]] = []
    i = end
    expected_indent = None
    while i >= 0:
        m = _MENU_ITEM_RE.match(lines[i])
        if m:
            items.append((i, m))
            if m.group("key") == "1":
                break
            expected_indent = len(m.group("indent"))
        elif not lines[i].strip() or expected_indent is None:
            break
        elif len(lines[i]) - len(lines[i].lstrip()) <= expected_indent:
            break
        i -= 1
    items.reverse()
    keys = [int(m.group("key")) for _, m in items]
    if len(items) < 2 or keys != list(range(1, len(keys) + 1)):
        return None
    # Join wrapped labels: continuation rows sit between items, indented under the label.
    joined: list[tuple[int, re.Match]] = []
    for n, (row, m) in enumerate(items):
        next_row = items[n + 1][0] if n + 1 < len(items) else _continuation_end(lines, row)
        extra = " ".join(ln.strip() for ln in lines[row + 1 : next_row])
        if extra:
            m = _MENU_ITEM_RE.match(f"{lines[row]} {extra}")
        joined.append((row, m))
    return joined


def _continuation_end(lines: list[str], row: int) -> int:
    m = _MENU_ITEM_RE.match(lines[row])
    label_col = m.start("label")
    i = row + 1
    while (
        i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) >= label_col
    ):
        if _CANCEL_HINT_RE.search(lines[i]):
            break
        i += 1
    return i


def _inside_fence(lines: list[str], row: int) -> bool:
    return sum(1 for ln in lines[:row] if _FENCE_RE.match(ln)) % 2 == 1


def _block_start(lines: list[str], q_row: int) -> int:
    """Where the prompt's box begins: after a horizontal rule, two blank rows, or 10 rows up."""
    blank = 0
    i = q_row
    for j in range(q_row - 1, max(-1, q_row - 11), -1):
        if _RULE_RE.match(lines[j]):
            break
        if not lines[j].strip():
            blank += 1
            if blank >= 2:
                break
        else:
            blank = 0
            i = j
    return i


def _paragraph_above(lines: list[str], row: int) -> list[str]:
    out = []
    for j in range(row - 1, max(-1, row - 9), -1):
        if not lines[j].strip() or _RULE_RE.match(lines[j]):
            break
        out.append(lines[j])
    return out[::-1]


def _dedent(lines: list[str]) -> str:
    nonempty = [ln for ln in lines if ln.strip()]
    if not nonempty:
        return ""
    indent = min(len(ln) - len(ln.lstrip()) for ln in nonempty)
    return "\n".join(ln[indent:].rstrip() for ln in lines).strip("\n")


def _claude_details(found: dict, context: list[str], question: str) -> None:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    header = None
    for ln in context:
        s = ln.strip()
        if header is None and _CLAUDE_COMMAND_HEADERS.match(s):
            header = s
            continue
        if header is None:
            continue
        if s:
            current.append(s)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    if header and paragraphs:
        command_lines = paragraphs[0]
        # The description ("Run shell command") closes the command's paragraph, whether or not
        # a note ("This command requires approval") follows: it is not part of the command.
        if len(command_lines) > 1 and _DESCRIPTION_RE.match(command_lines[-1]):
            found["description"] = command_lines[-1]
            command_lines = command_lines[:-1]
            if len(paragraphs) > 1:
                found["note"] = " ".join(paragraphs[1])
        elif len(paragraphs) > 1:
            found["description"] = " ".join(paragraphs[1])
        found["command"] = "\n".join(command_lines)
    m = _FILE_IN_QUESTION_RE.search(question)
    if m:
        found["file"] = m.group("file")


def _claude_ruled_command(found: dict, lines: list[str], q_row: int) -> bool:
    """Claude Code 2.1.3xx's box: a "Bash command" header, a tip, a description, then the
    command between two ``╌`` rules right above the question. True if the box is this one."""
    end = q_row - 1
    if end < 1 or not _DASHED_RULE_RE.match(lines[end]):
        return False
    start = next(
        (j for j in range(end - 1, max(-1, end - 1 - _QUESTION_SEARCH_LINES), -1)
         if _DASHED_RULE_RE.match(lines[j])),
        None,
    )  # fmt: skip
    if start is None:
        return False
    header = next(
        (j for j in range(start - 1, max(-1, start - 6), -1)
         if _CLAUDE_COMMAND_HEADERS.match(lines[j].strip())),
        None,
    )  # fmt: skip
    if header is None:
        return False
    command = [ln.strip() for ln in lines[start + 1 : end] if ln.strip()]
    if command:
        found["command"] = "\n".join(command)
    about = [s for ln in lines[header + 1 : start] if (s := ln.strip()) and not _TIP_RE.match(s)]
    if about:
        found["description"] = " ".join(about)
    return True


# An unnumbered menu: the highlighted option behind a cursor, the others under its label.
_ARROW_CURSOR_RE = re.compile(r"^\s*[❯›>▶→➤]\s+")
# Claude Code's first-run dialogs: nothing runs when they are answered, so they are low risk.
_CLAUDE_DIALOGS = [
    ("claude_trust_folder", re.compile(r"(?i)\btrust this folder\b|\bone you trust\b")),
    ("claude_api_key", re.compile(r"(?i)\buse this API key\b")),
]


def _find_arrow_menu(lines: list[str], last: int) -> dict | None:
    """A menu answered with the arrow keys and Enter (Claude Code's first-run dialogs): options
    without numbers, one behind the cursor, above an "Enter to confirm · Esc to cancel" hint."""
    hint = next(
        (i for i in range(last, max(-1, last - _MAX_LINES_AFTER_MENU - 1), -1)
         if _CANCEL_HINT_RE.search(lines[i])),
        None,
    )  # fmt: skip
    if hint is None:
        return None
    end = hint - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    first = end
    while first > 0 and lines[first - 1].strip():
        first -= 1
    rows = list(range(first, end + 1))
    cursors = [r for r in rows if _ARROW_CURSOR_RE.match(lines[r])]
    if (
        not 2 <= len(rows) <= 9
        or len(cursors) != 1
        or any(_MENU_ITEM_RE.match(lines[r]) for r in rows)
    ):
        return None
    # Every label starts in the cursor's label column.
    column = _ARROW_CURSOR_RE.match(lines[cursors[0]]).end()
    labels = [lines[r][column:].strip() for r in rows]
    if any(r not in cursors and lines[r][:column].strip() for r in rows) or not all(labels):
        return None
    q_row = _question_row(lines, first)
    if q_row is None:
        return None
    selected = cursors[0] - first
    options = [{"label": label, "kind": option_kind(label)} for label in labels]
    options[selected]["selected"] = True
    approve = next((i for i, o in enumerate(options) if o["kind"] == "approve_once"), None)
    if approve is None and not any(o["kind"] != "other" for o in options):
        return None
    block_start = _block_start(lines, q_row)
    block = _dedent(lines[block_start : hint + 1])
    found = {
        "program": "generic",
        "rule": "screen_arrow_menu",
        "question": _question_of(lines[q_row]),
        "options": options,
        "hints": [lines[hint].strip()],
        "block": block,
        "menu": "arrows",
        "approve_key": None,
        "deny_key": ESC,
        # Down or up from the highlighted option to "yes", then Enter; Esc cancels.
        "approve_writes": (
            [ARROW_DOWN if approve > selected else ARROW_UP] * abs(approve - selected) + [ENTER]
            if approve is not None
            else []
        ),
        "deny_writes": [ESC],
    }
    _first_run_dialog(found)
    return found


# Codex's first-run dialog in a git repository: "Trust this folder? Codex can read, edit…" (one
# paragraph, no line ending in "?") over "› 1. Trust and continue" / "2. Back to …".
_CODEX_TRUST_RE = re.compile(r"(?i)\btrust this folder\?")
_CODEX_TRUST_OPTION_RE = re.compile(r"(?i)^trust\b")


def _find_codex_trust(lines: list[str], last: int) -> dict | None:
    items = _last_menu(lines, last)
    if items is None:
        return None
    first_row, last_row = items[0][0], items[-1][0]
    search = range(first_row - 1, max(-1, first_row - 1 - _QUESTION_SEARCH_LINES), -1)
    q_row = next((i for i in search if _CODEX_TRUST_RE.search(lines[i])), None)
    if q_row is None or not any(m.group("cursor") for _, m in items):
        return None
    options = []
    for _, m in items:
        label = m.group("label")
        kind = "approve_once" if _CODEX_TRUST_OPTION_RE.match(label) else "deny"
        option = {"key": m.group("key"), "label": label, "kind": kind}
        if m.group("cursor"):
            option["selected"] = True
        options.append(option)
    approve = next((o for o in options if o["kind"] == "approve_once"), None)
    if approve is None:
        return None
    return {
        "program": "codex",
        "rule": "codex_trust_folder",
        # Trusting a folder runs nothing by itself: what runs later is asked for again.
        "risk": "low",
        "question": "Trust this folder?",
        "options": options,
        "hints": [ln.strip() for ln in lines[last_row + 1 : last + 1] if ln.strip()],
        "block": _dedent(lines[_block_start(lines, q_row) : last + 1]),
        # Codex's numbers move the highlight; Enter chooses. Esc goes back.
        "approve_key": approve["key"],
        "deny_key": ESC,
        "approve_writes": [approve["key"], ENTER],
        "deny_writes": [ESC],
    }


def _first_run_dialog(found: dict) -> None:
    """Claude Code's trust-folder and API-key dialogs: named, and low risk."""
    for rule, pattern in _CLAUDE_DIALOGS:
        if pattern.search(found["block"]):
            found.update(program="claude", rule=rule, risk="low")
            return


def _question_row(lines: list[str], first_option: int) -> int | None:
    """The row of the question above a menu: a line ending with "?", or else one whose
    question is followed by an aside ("…one you trust? (Like your own code…")."""
    rows = range(first_option - 1, max(-1, first_option - 1 - _QUESTION_SEARCH_LINES), -1)
    ends = next((i for i in rows if lines[i].strip().endswith("?")), None)
    if ends is not None:
        return ends
    return next((i for i in rows if _QUESTION_ASIDE_RE.search(lines[i])), None)


def _question_of(line: str) -> str:
    line = line.strip()
    return line[: line.rindex("?") + 1] if "?" in line else line


def _codex_details(found: dict, between: list[str]) -> None:
    command_lines: list[str] = []
    for ln in between:
        s = ln.strip()
        if s.startswith("Reason:"):
            found["reason"] = s[len("Reason:") :].strip()
        elif s.startswith("$ "):
            command_lines = [s[2:]]
        elif command_lines and s and not _CODEX_FILE_RE.match(s):
            command_lines.append(s)
        elif (m := _CODEX_FILE_RE.match(s)) and "file" not in found:
            found["file"] = m.group("file")
        elif not s and command_lines:
            break
    if command_lines:
        found["command"] = "\n".join(command_lines)


def _answer_keys(found: dict) -> None:
    """Which keys approve once and deny; a permanent or mode-switching option is never chosen."""
    options = found["options"]
    once = [o for o in options if o["kind"] == "approve_once"]
    # Prefer a label that is exactly "Yes": other "Yes…" labels may carry conditions.
    once.sort(
        key=lambda o: (
            _SHORTCUT_RE.sub("", o["label"]).strip().lower() not in ("yes", "yes, proceed")
        )
    )
    deny = next((o for o in options if o["kind"] == "deny"), None)
    approve = once[0] if once else None
    if found["program"] == "codex":
        # Codex selects on its shortcut letter at once; the number only moves the cursor.
        approve_key = (approve.get("shortcut") or approve["key"]) if approve else None
        deny_key = ESC
    elif found["program"] == "claude":
        approve_key = approve["key"] if approve else None
        deny_key = ESC
    else:
        approve_key = approve["key"] if approve else None
        deny_key = deny["key"] if deny else ESC
    found["approve_key"] = approve_key
    found["deny_key"] = deny_key
    found["approve_writes"] = [approve_key] if approve_key else []
    found["deny_writes"] = [deny_key]
