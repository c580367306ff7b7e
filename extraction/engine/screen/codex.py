"""Codex's screens: its permission menu (shortcut letters, "$ command", "Reason:") and its
first-run "Trust this folder?" dialog."""

from __future__ import annotations

import re

from .layout import (
    CODEX_FILE_RE,
    ENTER,
    ESC,
    QUESTION_SEARCH_LINES,
    box_top,
    dedent,
    last_menu,
)

NAME = "codex"


def owns_menu(found: dict, lines: list[str], first_row: int) -> bool:
    """Codex ends options with a letter shortcut ("(y)", "(p)"); Claude only with "(esc)"."""
    return found["question"].startswith("Would you like to") or any(
        o.get("shortcut", "esc") not in ("esc", "enter") for o in found["options"]
    )


def menu_details(
    found: dict, lines: list[str], q_row: int, first_row: int, block_start: int
) -> None:
    codex_details(found, lines[q_row + 1 : first_row])


# Codex's first-run dialog in a git repository: "Trust this folder? Codex can read, edit…" (one
# paragraph, no line ending in "?") over "› 1. Trust and continue" / "2. Back to …".
CODEX_TRUST_RE = re.compile(r"(?i)\btrust this folder\?")
CODEX_TRUST_OPTION_RE = re.compile(r"(?i)^trust\b")


def find_trust_dialog(lines: list[str], last: int, cursor_row: int) -> dict | None:
    items = last_menu(lines, last)
    if items is None:
        return None
    first_row, last_row = items[0][0], items[-1][0]
    search = range(first_row - 1, max(-1, first_row - 1 - QUESTION_SEARCH_LINES), -1)
    q_row = next((i for i in search if CODEX_TRUST_RE.search(lines[i])), None)
    if q_row is None or not any(m.group("cursor") for _, m in items):
        return None
    options = []
    for _, m in items:
        label = m.group("label")
        kind = "approve_once" if CODEX_TRUST_OPTION_RE.match(label) else "deny"
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
        "block": dedent(lines[box_top(lines, q_row) : last + 1]),
        # Codex's numbers move the highlight; Enter chooses. Esc goes back.
        "approve_key": approve["key"],
        "deny_key": ESC,
        "approve_writes": [approve["key"], ENTER],
        "deny_writes": [ESC],
    }


def codex_details(found: dict, between: list[str]) -> None:
    command_lines: list[str] = []
    for ln in between:
        s = ln.strip()
        if s.startswith("Reason:"):
            found["reason"] = s[len("Reason:") :].strip()
        elif s.startswith("$ "):
            command_lines = [s[2:]]
        elif command_lines and s and not CODEX_FILE_RE.match(s):
            command_lines.append(s)
        elif (m := CODEX_FILE_RE.match(s)) and "file" not in found:
            found["file"] = m.group("file")
        elif not s and command_lines:
            break
    if command_lines:
        found["command"] = "\n".join(command_lines)
