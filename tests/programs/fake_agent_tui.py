#!/usr/bin/env python3
"""A stand-in for an agent TUI waiting for permission, drawn the way the real ones draw.

What it does, in order, on a terminal (run it under a PTY):

1. enters the alternate screen and hides the cursor;
2. asks for the cursor position (``ESC [ 6 n``) and the device attributes (``ESC [ c``) and
   waits for each answer — Codex stalls at start when nobody answers; this prints ``stalled``
   after ``--query-timeout`` seconds and carries on (``--strict-queries`` exits 3 instead);
3. draws a permission prompt: Claude-style words separated by cursor-to-column moves
   (``Do\\e[5Gyou\\e[9Gwant…``), Codex-style cells placed one by one, aider's or a plain
   ``[y/N]`` question line;
4. emits ``ESC ] 7501 ; state=blocked:app=<app>:kind=permission BEL``;
5. reads keys in raw mode: ``1``/Enter approve (Claude), ``y`` (Codex, aider, yes/no),
   Esc denies; prints ``APPROVED``, ``APPROVED ALWAYS``, ``SWITCHED MODE`` or ``DENIED`` after
   leaving the alternate screen, and exits 0.

The drawing functions are importable so tests can render the same bytes without a PTY.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import sys
import termios
import textwrap
import time
import tty

ESC = "\x1b"
CLAUDE_GREY = "\x1b[38;2;153;153;153m"
RESET = "\x1b[39m\x1b[22m"
SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"


def _words_at_columns(text: str, col: int) -> str:
    """Claude Code's way: each word placed with CHA (ESC [ n G) instead of a space."""
    out = []
    for word in re.finditer(r"\S+", text):
        out.append(f"\x1b[{col + word.start()}G{word.group(0)}")
    return "".join(out)


def claude_prompt(command: str, selected: int = 0, cols: int = 80) -> str:
    options = [
        "Yes",
        "Yes, and always allow access to build/ from this project",
        "Yes, and switch to auto mode · shift+tab",
        "No",
    ]
    rows = [
        (2, "\x1b[38;2;136;136;136m" + "─" * cols + RESET),
        (3, f"\x1b[1m{_words_at_columns('Bash command', 2)}\x1b[22m"),
        (5, _words_at_columns(command, 4)),
        (6, CLAUDE_GREY + _words_at_columns("Remove the build directory", 4) + RESET),
        (8, _words_at_columns("Do you want to proceed?", 2)),
    ]
    for i, label in enumerate(options):
        cursor = "\x1b[38;2;177;185;249m❯\x1b[39m" if i == selected else ""
        rows.append((9 + i, f"\x1b[2G{cursor}{_words_at_columns(f'{i + 1}. {label}', 4)}"))
    rows.append((14, CLAUDE_GREY + _words_at_columns("Esc to cancel · Tab to amend", 2) + RESET))
    body = "".join(f"\x1b[{row};1H\x1b[2K{text}" for row, text in rows)
    return SYNC_START + body + SYNC_END


def codex_prompt(command: str, selected: int = 0, cols: int = 80) -> str:
    options = [
        "Yes, proceed (y)",
        f"Yes, and don't ask again for commands that start with `{command}` (p)",
        "No, and tell Codex what to do differently (esc)",
    ]
    lines = [
        (3, 3, "Would you like to run the following command?"),
        (5, 3, "Reason: Delete the build directory"),
        (7, 3, f"$ {command}"),
    ]
    row = 9
    for i, label in enumerate(options):
        marker = "› " if i == selected else "  "
        # Long options wrap under their label, as ratatui's Paragraph does.
        parts = textwrap.wrap(label, width=cols - 6)
        lines.append((row, 1, f"{marker}{i + 1}. {parts[0]}"))
        for part in parts[1:]:
            row += 1
            lines.append((row, 6, part))
        row += 1
    lines.append((row + 1, 3, "Press enter to confirm or esc to cancel"))
    # Codex (ratatui) places runs of cells with CUP and never sends a newline.
    out = []
    for row, col, text in lines:
        for run in re.finditer(r"\S+(?: \S+)?", text):
            out.append(f"\x1b[{row};{col + run.start()}H{run.group(0)}")
    return "".join(out)


def aider_prompt(command: str) -> str:
    return (
        "\x1b[1;1H\x1b[2J"
        "\x1b[32m> Remove the build directory\x1b[0m\r\n\r\n"
        f"{command}\r\n"
        "\x1b[1mRun shell command? (Y)es/(N)o/(D)on't ask again [Yes]: \x1b[0m"
    )


def yesno_prompt(command: str) -> str:
    return f"\x1b[1;1H\x1b[2JAbout to run: {command}\r\nContinue? [y/N] "


def signal(app: str, state: str = "blocked", kind: str = "permission") -> str:
    return f"\x1b]7501;state={state}:app={app}:kind={kind}\x07"


def write(text: str) -> None:
    data = text.encode()
    while data:
        n = os.write(sys.stdout.fileno(), data)
        data = data[n:]


def read_answer(fd: int, pattern: bytes, timeout: float) -> bytes | None:
    """Bytes matching `pattern` typed back by the terminal within `timeout`, else None."""
    deadline = time.monotonic() + timeout
    got = b""
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        got += chunk
        m = regex.search(got)
        if m:
            return m.group(0)
    return None


def read_key(fd: int, timeout: float) -> str | None:
    """One key; a lone Esc is Esc, Esc followed quickly by more is an escape sequence."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    key = os.read(fd, 1).decode(errors="replace")
    if key == ESC:
        while select.select([fd], [], [], 0.05)[0]:
            key += os.read(fd, 16).decode(errors="replace")
    return key


CLAUDE_KEYS = {"1": "APPROVED", "2": "APPROVED ALWAYS", "3": "SWITCHED MODE", "4": "DENIED"}
CODEX_KEYS = {"y": "APPROVED", "p": "APPROVED ALWAYS", "n": "DENIED"}


def wait_for_decision(fd: int, style: str, command: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    selected = 0
    typed = ""
    while True:
        key = read_key(fd, max(0.0, deadline - time.monotonic()))
        if key is None:
            return "TIMEOUT"
        if key == ESC:
            return "DENIED"
        if style == "claude":
            if key in CLAUDE_KEYS:
                return CLAUDE_KEYS[key]
            if key in ("\r", "\n"):
                return CLAUDE_KEYS[str(selected + 1)]
            if key in ("\x1b[A", "\x1b[B"):
                selected = (selected + (1 if key.endswith("B") else -1)) % 4
                write(claude_prompt(command, selected))
        elif style == "codex":
            if key in CODEX_KEYS:
                return CODEX_KEYS[key]
            if key in ("\r", "\n"):
                return ["APPROVED", "APPROVED ALWAYS", "DENIED"][selected]
            if key in ("\x1b[A", "\x1b[B"):
                selected = (selected + (1 if key.endswith("B") else -1)) % 3
                write(codex_prompt(command, selected))
        else:
            # Line-based questions echo what is typed and act on Enter.
            if key in ("\r", "\n"):
                write("\r\n")
                answer = typed.strip().lower()
                if style == "aider" and answer in ("", "y", "yes"):
                    return "APPROVED"
                if style == "aider" and answer in ("d",):
                    return "APPROVED ALWAYS"
                return "APPROVED" if answer in ("y", "yes") else "DENIED"
            if key.isprintable():
                typed += key
                write(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", choices=("claude", "codex", "aider", "yesno"), default="claude")
    parser.add_argument("--command", default="rm -rf build/")
    parser.add_argument("--query-timeout", type=float, default=2.0)
    parser.add_argument("--answer-timeout", type=float, default=30.0)
    parser.add_argument("--strict-queries", action="store_true", help="exit 3 when a query stalls")
    parser.add_argument("--no-alt-screen", action="store_true")
    args = parser.parse_args(argv)

    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        print("fake_agent_tui: stdin must be a terminal (run it under a PTY)", file=sys.stderr)
        return 2
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    alt = not args.no_alt_screen
    stalled = []
    try:
        # Kitty keyboard protocol push, as Codex does; pyte must not draw it as text.
        write(("\x1b[?1049h" if alt else "") + "\x1b[?25l\x1b[?2004h\x1b[>1u\x1b[H\x1b[2J")
        write("\x1b[6n")
        if read_answer(fd, rb"\x1b\[\d+;\d+R", args.query_timeout) is None:
            stalled.append("cursor position")
            write("stalled\r\n")
        write("\x1b[c")
        if read_answer(fd, rb"\x1b\[\?[\d;]*c", args.query_timeout) is None:
            stalled.append("device attributes")
            write("stalled\r\n")
        if stalled and args.strict_queries:
            return 3
        app = {"yesno": "generic"}.get(args.style, args.style)
        draw = {
            "claude": claude_prompt,
            "codex": codex_prompt,
            "aider": aider_prompt,
            "yesno": yesno_prompt,
        }
        write(draw[args.style](args.command))
        write(signal(app))
        decision = wait_for_decision(fd, args.style, args.command, args.answer_timeout)
        write(signal(app, state="running", kind="none"))
    finally:
        write("\x1b[<u\x1b[?2004l\x1b[?25h" + ("\x1b[?1049l" if alt else ""))
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    for what in stalled:
        print(f"stalled: no answer to the {what} query")
    print(decision)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
