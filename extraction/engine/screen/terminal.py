"""The terminal emulator behind the screen view: pyte plus the alternate screen and a fast draw."""

from __future__ import annotations

import re

import pyte
from pyte import modes
from wcwidth import wcwidth

# Sequences pyte mis-parses and would draw as text: DCS/APC/PM/SOS strings (XTGETTCAP, kitty
# graphics, tmux passthrough), CSI with "<"/"=" (kitty keyboard protocol) and colon-separated
# SGR (underline styles, some truecolour). Dropping them loses only styling.
#
# Colours and styles (SGR) go too, before pyte sees them: prompts are found from characters and
# positions, and pyte parses escape sequences one character at a time — on a TUI that colours
# every word, SGR is most of the bytes and most of the render time.
UNSUPPORTED_RE = re.compile(
    r"\x1b[P_^X][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b\[[<=][0-9;:]*[ -/]*[@-~]"
    r"|\x1b\[[0-9;:]*m"
)
# DEC private modes that switch to the alternate screen (1049 also saves the cursor).
ALT_SCREEN_MODES = frozenset({47, 1047, 1049})

_SINGLE_WIDTH: dict[str, bool] = {}


def single_width(text: str) -> bool:
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


class TerminalScreen(pyte.Screen):
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
            or not single_width(data)
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
        modes = self._switch_alt_screen(modes, kwargs, self.enter_alt_screen)
        if modes is not None:
            super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs) -> None:
        modes = self._switch_alt_screen(modes, kwargs, self.leave_alt_screen)
        if modes is not None:
            super().reset_mode(*modes, **kwargs)

    @staticmethod
    def _switch_alt_screen(modes: tuple[int, ...], kwargs: dict, switch) -> tuple[int, ...] | None:
        """The alternate-screen modes are ours: ``switch`` for them. The modes left for pyte, or
        None when they were all ours."""
        if kwargs.get("private") and ALT_SCREEN_MODES.intersection(modes):
            switch()
            return tuple(m for m in modes if m not in ALT_SCREEN_MODES) or None
        return modes

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
