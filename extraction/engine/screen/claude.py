"""Claude Code's screens: the command in its permission box, and its first-run dialogs."""

from __future__ import annotations

import re

from .layout import (
    CLAUDE_COMMAND_HEADERS,
    DASHED_RULE_RE,
    DESCRIPTION_RE,
    FILE_IN_QUESTION_RE,
    QUESTION_SEARCH_LINES,
    TIP_RE,
)

NAME = "claude"

# Claude Code's first-run dialogs: nothing runs when they are answered, so they are low risk.
CLAUDE_DIALOGS = [
    ("claude_trust_folder", re.compile(r"(?i)\btrust this folder\b|\bone you trust\b")),
    ("claude_api_key", re.compile(r"(?i)\buse this API key\b")),
]


def owns_menu(found: dict, lines: list[str], first_row: int) -> bool:
    """Claude Code's numbered menu has a cursor "❯" or a cancel hint under it."""
    return bool(found["hints"]) or "❯" in lines[first_row]


def menu_details(
    found: dict, lines: list[str], q_row: int, first_row: int, block_start: int
) -> None:
    """The command (and file) a numbered menu asks about. Also how a generic numbered menu is
    read: a header naming the command, the command, then its description."""
    if not claude_ruled_command(found, lines, q_row):
        claude_details(found, lines[block_start:q_row], found["question"])


def claude_details(found: dict, context: list[str], question: str) -> None:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    header = None
    for ln in context:
        s = ln.strip()
        if header is None and CLAUDE_COMMAND_HEADERS.match(s):
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
        if len(command_lines) > 1 and DESCRIPTION_RE.match(command_lines[-1]):
            found["description"] = command_lines[-1]
            command_lines = command_lines[:-1]
            if len(paragraphs) > 1:
                found["note"] = " ".join(paragraphs[1])
        elif len(paragraphs) > 1:
            found["description"] = " ".join(paragraphs[1])
        found["command"] = "\n".join(command_lines)
    m = FILE_IN_QUESTION_RE.search(question)
    if m:
        found["file"] = m.group("file")


def claude_ruled_command(found: dict, lines: list[str], q_row: int) -> bool:
    """Claude Code 2.1.3xx's box: a "Bash command" header, a tip, a description, then the
    command between two ``╌`` rules right above the question. True if the box is this one."""
    end = q_row - 1
    if end < 1 or not DASHED_RULE_RE.match(lines[end]):
        return False
    start = next(
        (j for j in range(end - 1, max(-1, end - 1 - QUESTION_SEARCH_LINES), -1)
         if DASHED_RULE_RE.match(lines[j])),
        None,
    )  # fmt: skip
    if start is None:
        return False
    header = next(
        (j for j in range(start - 1, max(-1, start - 6), -1)
         if CLAUDE_COMMAND_HEADERS.match(lines[j].strip())),
        None,
    )  # fmt: skip
    if header is None:
        return False
    command = [ln.strip() for ln in lines[start + 1 : end] if ln.strip()]
    if command:
        found["command"] = "\n".join(command)
    about = [s for ln in lines[header + 1 : start] if (s := ln.strip()) and not TIP_RE.match(s)]
    if about:
        found["description"] = " ".join(about)
    return True


def first_run_dialog(found: dict) -> None:
    """Claude Code's trust-folder and API-key dialogs: named, and low risk."""
    for rule, pattern in CLAUDE_DIALOGS:
        if pattern.search(found["block"]):
            found.update(program="claude", rule=rule, risk="low")
            return
