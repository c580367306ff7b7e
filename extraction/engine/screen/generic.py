"""Prompts any program may draw: a numbered menu, a menu answered with the arrow keys, and a
"[y/N]" or `rm -i` question on the cursor's line.

A numbered menu is found here and then claimed by the agent that draws it (``MENU_AGENTS`` in
``registry.py``), which reads what it asks about; an unclaimed one reads like Claude Code's.
"""

from __future__ import annotations

import re

from ..prompts import RM_RE, YES_NO_RE, build_yes_no
from . import claude
from .layout import (
    ARROW_DOWN,
    ARROW_UP,
    CANCEL_HINT_RE,
    ENTER,
    ESC,
    MAX_LINES_AFTER_MENU,
    MENU_ITEM_RE,
    SHORTCUT_RE,
    answer_keys,
    box_top,
    dedent,
    hints_rows,
    inside_fence,
    last_menu,
    option_kind,
    paragraph_above,
    question_of,
    question_row,
    waiting_line,
)


def find_numbered_menu(lines: list[str], last: int, cursor_row: int, agents=()) -> dict | None:
    """A numbered menu (1., 2., …) under a question, with a cursor or a cancel hint; ``agents``
    are asked in order which of them drew it."""
    items = last_menu(lines, last)
    if items is None:
        return None
    first_row, last_row = items[0][0], items[-1][0]
    below = [ln for ln in lines[last_row + 1 : last + 1] if ln.strip()]
    if len(below) > MAX_LINES_AFTER_MENU or inside_fence(lines, first_row):
        return None
    q_row = question_row(lines, first_row)
    if q_row is None:
        return None
    has_cursor = any(m.group("cursor") for _, m in items)
    hints = [ln.strip() for ln in below if CANCEL_HINT_RE.search(ln)]
    if not (has_cursor or hints):
        return None
    options = []
    for _, m in items:
        label = m.group("label")
        shortcut = SHORTCUT_RE.search(label)
        option = {"key": m.group("key"), "label": label, "kind": option_kind(label)}
        if shortcut:
            option["shortcut"] = shortcut.group("key").lower()
        if m.group("cursor"):
            option["selected"] = True
        options.append(option)
    question = question_of(lines[q_row])
    top = box_top(lines, q_row)
    found = {
        "program": "generic",
        "question": question,
        "options": options,
        "hints": hints,
        "block": dedent(lines[top : last_row + 1] + hints_rows(lines, last_row, last)),
    }
    owner = next((a for a in agents if a.owns_menu(found, lines, first_row)), None)
    if owner is not None:
        found["program"] = owner.NAME
    # A menu no agent claims is read as Claude Code's: a header, the command, its description.
    (owner or claude).menu_details(found, lines, q_row, first_row, top)
    answer_keys(found)
    if found["approve_key"] is None and not any(o["kind"] != "other" for o in options):
        return None
    claude.first_run_dialog(found)
    return found


# An unnumbered menu: the highlighted option behind a cursor, the others under its label.
ARROW_CURSOR_RE = re.compile(r"^\s*[❯›>▶→➤]\s+")


def find_arrow_menu(lines: list[str], last: int, cursor_row: int) -> dict | None:
    """A menu answered with the arrow keys and Enter (Claude Code's first-run dialogs): options
    without numbers, one behind the cursor, above an "Enter to confirm · Esc to cancel" hint."""
    hint = next(
        (i for i in range(last, max(-1, last - MAX_LINES_AFTER_MENU - 1), -1)
         if CANCEL_HINT_RE.search(lines[i])),
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
    cursors = [r for r in rows if ARROW_CURSOR_RE.match(lines[r])]
    if (
        not 2 <= len(rows) <= 9
        or len(cursors) != 1
        or any(MENU_ITEM_RE.match(lines[r]) for r in rows)
    ):
        return None
    # Every label starts in the cursor's label column.
    column = ARROW_CURSOR_RE.match(lines[cursors[0]]).end()
    labels = [lines[r][column:].strip() for r in rows]
    if any(r not in cursors and lines[r][:column].strip() for r in rows) or not all(labels):
        return None
    q_row = question_row(lines, first)
    if q_row is None:
        return None
    selected = cursors[0] - first
    options = [{"label": label, "kind": option_kind(label)} for label in labels]
    options[selected]["selected"] = True
    approve = next((i for i, o in enumerate(options) if o["kind"] == "approve_once"), None)
    if approve is None and not any(o["kind"] != "other" for o in options):
        return None
    block_start = box_top(lines, q_row)
    block = dedent(lines[block_start : hint + 1])
    found = {
        "program": "generic",
        "rule": "screen_arrow_menu",
        "question": question_of(lines[q_row]),
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
    claude.first_run_dialog(found)
    return found


def find_yes_no(lines: list[str], last: int, cursor_row: int) -> dict | None:
    """A "[y/N]" or `rm -i` question on the line the cursor waits on."""
    if not waiting_line(lines, last, cursor_row):
        return None
    line = lines[last].rstrip()
    m = YES_NO_RE.match(line) or None
    meta = build_yes_no(m, line) if m else None
    if meta is None and (m := RM_RE.match(line)):
        meta = {"question": m.group("question").strip(), "options": [
            {"key": "y", "label": "yes"}, {"key": "n", "label": "no"}], "approve_key": "y"}  # fmt: skip
    if meta is None:
        return None
    options = [dict(o, kind=option_kind(o["label"])) for o in meta["options"]]
    deny = next((o["key"] for o in options if o["kind"] == "deny"), None)
    above = paragraph_above(lines, last)[-3:]
    return {
        "program": "generic",
        "rule": "screen_yes_no",
        "question": meta["question"],
        "options": options,
        "approve_key": meta["approve_key"],
        "deny_key": deny,
        "approve_writes": [meta["approve_key"], ENTER],
        "deny_writes": [deny, ENTER] if deny else [ESC],
        "block": dedent([*above, line]),
        # The event reads like the extractor's line prompts: the question's line as its
        # content, what the screen showed above it as its context (and for its risk).
        "content": line.strip(),
        "context": "\n".join(above),
    }
