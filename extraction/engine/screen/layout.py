"""What every screen prompt finder shares: the keys, the row patterns, and helpers over rows.

Rows are the rendered screen's lines, right-stripped, box borders removed (``strip_box``).
"""

from __future__ import annotations

import re

from ..prompts import MENU_ITEM_TAIL

ESC = "\x1b"
ENTER = "\r"
ARROW_UP, ARROW_DOWN = "\x1b[A", "\x1b[B"

# Box borders drawn around prompts (Claude Code's older versions frame them).
BOX_CHARS = "│┃║|╭╮╰╯┌┐└┘"
RULE_RE = re.compile(r"^\s*[─━═╌┄╭╮╰╯┌┐└┘\-]{8,}\s*$")
# Claude Code 2.1.3xx sets the command between two dashed rules, right above the question.
DASHED_RULE_RE = re.compile(r"^\s*╌{8,}\s*$")
TIP_RE = re.compile(r"^Tip:\s")
QUESTION_ASIDE_RE = re.compile(r"\?\s+\(")
FENCE_RE = re.compile(r"^\s*(?:```|~~~)")
MENU_ITEM_RE = re.compile(r"^(?P<indent>\s*)(?P<cursor>[❯›>▶→➤]\s*)?" + MENU_ITEM_TAIL)
# Codex puts the shortcut at the end of each option: "Yes, proceed (y)".
SHORTCUT_RE = re.compile(r"\s*\((?P<key>[a-z]|esc|enter)\)$", re.IGNORECASE)
CANCEL_HINT_RE = re.compile(
    r"(?i)\besc(?:ape)? to (?:cancel|exit|go back)\b|\bpress enter to confirm\b"
)
QUESTION_SEARCH_LINES = 14
MAX_LINES_AFTER_MENU = 5
# Claude Code's headers above what it asks, and where the command sits under them.
CLAUDE_COMMAND_HEADERS = re.compile(r"(?i)^(?:bash(?: command)?|run command|shell command)$")
FILE_IN_QUESTION_RE = re.compile(
    r"(?i)\b(?:edit to|edits to|create|overwrite|write to|delete|update|read)\s+`?(?P<file>[\w./~-]+\.[\w]+|[\w.~-]*/[\w./~-]+)`?\s*\?\s*$"
)
CODEX_FILE_RE = re.compile(r"^(?:[•└─\s]*)(?P<file>[\w./~-]+)\s+\(\+\d+\s+-\d+\)\s*$")
DESCRIPTION_RE = re.compile(r"^[A-Z][a-z]+(?:\s+[\w'(),/.-]+)*\.?$")

# What an option does, judged from its label; the first match wins, so "Yes, and switch to
# auto mode" is a mode switch and "Yes, and don't ask again" a permanent approval.
OPTION_KINDS: list[tuple[str, re.Pattern]] = [
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
    for kind, pattern in OPTION_KINDS:
        if pattern.search(label):
            return kind
    return "other"


def hints_rows(lines: list[str], last_row: int, last: int) -> list[str]:
    return [ln for ln in lines[last_row + 1 : last + 1] if CANCEL_HINT_RE.search(ln)]


def strip_box(line: str) -> str:
    stripped = line.strip()
    if stripped[:1] in BOX_CHARS and stripped[-1:] in BOX_CHARS and len(stripped) > 1:
        indent = len(line) - len(line.lstrip())
        return (" " * (indent + 1) + stripped[1:-1]).rstrip()
    return line


def last_nonempty(lines: list[str]) -> int:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            return i
    return -1


def last_menu(lines: list[str], last: int) -> list[tuple[int, re.Match]] | None:
    """The lowest run of consecutively numbered items (1, 2, 3…), wrapped labels joined."""
    end = None
    for i in range(last, -1, -1):
        m = MENU_ITEM_RE.match(lines[i])
        if m:
            end = i
            break
    if end is None:
        return None
    items: list[tuple[int, re.Match]] = []
    i = end
    expected_indent = None
    while i >= 0:
        m = MENU_ITEM_RE.match(lines[i])
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
        next_row = items[n + 1][0] if n + 1 < len(items) else continuation_end(lines, row)
        extra = " ".join(ln.strip() for ln in lines[row + 1 : next_row])
        if extra:
            m = MENU_ITEM_RE.match(f"{lines[row]} {extra}")
        joined.append((row, m))
    return joined


def continuation_end(lines: list[str], row: int) -> int:
    m = MENU_ITEM_RE.match(lines[row])
    label_col = m.start("label")
    i = row + 1
    while (
        i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) >= label_col
    ):
        if CANCEL_HINT_RE.search(lines[i]):
            break
        i += 1
    return i


def inside_fence(lines: list[str], row: int) -> bool:
    return sum(1 for ln in lines[:row] if FENCE_RE.match(ln)) % 2 == 1


def box_top(lines: list[str], q_row: int) -> int:
    """Where the prompt's box begins: after a horizontal rule, two blank rows, or 10 rows up."""
    blank = 0
    i = q_row
    for j in range(q_row - 1, max(-1, q_row - 11), -1):
        if RULE_RE.match(lines[j]):
            break
        if not lines[j].strip():
            blank += 1
            if blank >= 2:
                break
        else:
            blank = 0
            i = j
    return i


def paragraph_above(lines: list[str], row: int) -> list[str]:
    out = []
    for j in range(row - 1, max(-1, row - 9), -1):
        if not lines[j].strip() or RULE_RE.match(lines[j]):
            break
        out.append(lines[j])
    return out[::-1]


def dedent(lines: list[str]) -> str:
    nonempty = [ln for ln in lines if ln.strip()]
    if not nonempty:
        return ""
    indent = min(len(ln) - len(ln.lstrip()) for ln in nonempty)
    return "\n".join(ln[indent:].rstrip() for ln in lines).strip("\n")


def question_row(lines: list[str], first_option: int) -> int | None:
    """The row of the question above a menu: a line ending with "?", or else one whose
    question is followed by an aside ("…one you trust? (Like your own code…")."""
    rows = range(first_option - 1, max(-1, first_option - 1 - QUESTION_SEARCH_LINES), -1)
    ends = next((i for i in rows if lines[i].strip().endswith("?")), None)
    if ends is not None:
        return ends
    return next((i for i in rows if QUESTION_ASIDE_RE.search(lines[i])), None)


def question_of(line: str) -> str:
    line = line.strip()
    return line[: line.rindex("?") + 1] if "?" in line else line


def answer_keys(found: dict) -> None:
    """Which keys approve once and deny; a permanent or mode-switching option is never chosen."""
    options = found["options"]
    once = [o for o in options if o["kind"] == "approve_once"]
    # Prefer a label that is exactly "Yes": other "Yes…" labels may carry conditions.
    once.sort(
        key=lambda o: (
            SHORTCUT_RE.sub("", o["label"]).strip().lower() not in ("yes", "yes, proceed")
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


def waiting_line(lines: list[str], last: int, cursor_row: int) -> bool:
    """The last line can be a question waiting for its answer: the cursor is on it (an answered
    one has moved on) and it is not inside a code fence."""
    if cursor_row >= 0 and cursor_row != last:
        return False
    return not inside_fence(lines, last)
