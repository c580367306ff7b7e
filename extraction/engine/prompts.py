"""Recognising a program that waits for an answer, and what the answer keys are."""

from __future__ import annotations

import re

YES_WORDS = ("y", "yes")
NO_WORDS = ("n", "no")

# "[y/N]", "(y/n)", "(yes/no)", "(yes/no/[fingerprint])", "[Y/n/q]", optionally followed by
# "?"/":" and a short echoed answer (recordings contain what the user typed).
YES_NO_RE = re.compile(
    r"(?P<question>.*?)\s*(?P<opts>[\[(](?:[A-Za-z]{1,12}|\[[a-z]+\])(?:/(?:[A-Za-z]{1,12}|\[[a-z]+\]))+[\])])"
    r"(?P<tail>\s*[?:]?)[ \t]*(?P<answer>\w{0,3})\s*$"
)
# aider: "Add file to the chat? (Y)es/(N)o/(D)on't ask again [Yes]:"
LETTER_OPTIONS_RE = re.compile(
    r"(?P<question>.*?)\s*(?P<opts>(?:\([A-Z]\)[\w' ]*/)+\([A-Z]\)[\w' ]*?)\s*(?:\[(?P<default>\w+)\])?\s*:?[ \t]*(?P<answer>\w{0,3})\s*$"
)
RM_RE = re.compile(
    r"(?P<question>(?P<tool>rm|cp|mv|ln): (?P<verb>remove|overwrite|descend into|replace)\b.*\?)[ \t]*(?P<answer>\w{0,3})\s*$"
)
OVERWRITE_RE = re.compile(r"(?i)(?P<question>.*\boverwrite\b[^?]*\?)[ \t]*(?P<answer>\w{0,3})\s*$")
PASSWORD_RE = re.compile(
    r"(?i)(?P<question>(?:\[sudo\] )?(?:.*\b)?(?:password|passphrase|passcode)\b[^:]{0,80}:)\s*$"
)

_YES_NO = [{"key": "y", "label": "yes"}, {"key": "n", "label": "no"}]


def _option_label(word: str) -> str:
    low = word.lower()
    if low in YES_WORDS:
        return "yes"
    if low in NO_WORDS:
        return "no"
    return low.strip("[]")


def build_yes_no(m: re.Match, line: str) -> dict | None:
    words = m.group("opts")[1:-1].split("/")
    keys = [w.lower() for w in words]
    if not any(k in YES_WORDS for k in keys) or not any(k in NO_WORDS for k in keys):
        return None
    options = []
    for word, key in zip(words, keys, strict=True):
        option = {"key": key.strip("[]"), "label": _option_label(word)}
        # The capitalised choice is the default ("[y/N]": pressing Enter means no).
        if word[:1].isupper() and not all(w[:1].isupper() for w in words):
            option["default"] = True
        options.append(option)
    approve = next(o["key"] for o, k in zip(options, keys, strict=True) if k in YES_WORDS)
    question = (
        m.group("question").strip() + " " + m.group("opts") + m.group("tail").strip()
    ).strip()
    return {"question": question, "options": options, "approve_key": approve}


def build_letter_options(m: re.Match, line: str) -> dict | None:
    options = []
    default = (m.group("default") or "").lower()
    for part in m.group("opts").split("/"):
        key = part[1].lower()
        label = (part[1] + part[3:]).strip()
        option = {"key": key, "label": label}
        if default and label.lower().startswith(default):
            option["default"] = True
        options.append(option)
    keys = [o["key"] for o in options]
    # Only "yes" approves this once; "(D)on't ask again" or "(A)ll" would approve more.
    if "y" not in keys:
        return None
    return {"question": m.group("question").strip(), "options": options, "approve_key": "y"}


def build_file_question(m: re.Match, line: str) -> dict | None:
    return {"question": m.group("question").strip(), "options": list(_YES_NO), "approve_key": "y"}


def build_password(m: re.Match, line: str) -> dict | None:
    question = m.group("question").strip()
    if len(question) > 120:
        return None
    return {"question": question, "options": [], "approve_key": None, "secret_input": True}


# Claude Code and similar TUIs: a question, then a numbered menu with a cursor on one entry.
# A menu item after its cursor, here and on the screen (screen/layout.py MENU_ITEM_RE): the
# number, then its label. "2.Yes, and don't ask again …": Claude Code drops the space after
# the number when the label wraps (a long project path in it), so a letter may follow at once;
# a digit may not ("1.5 GB" is no item).
MENU_ITEM_TAIL = r"(?P<key>\d{1,2})[.)](?:\s+|(?=[^\W\d_]))(?P<label>\S.*?)\s*$"
_MENU_ITEM_RE = re.compile(r"^\s*(?P<cursor>[❯›>▶→]\s*)?" + MENU_ITEM_TAIL)


def parse_menu(lines: list[str]) -> dict | None:
    """A numbered menu with a selection cursor under a question, from the last screen lines."""
    items: list[tuple[int, re.Match]] = []
    for i, line in enumerate(lines):
        m = _MENU_ITEM_RE.match(line)
        if m:
            items.append((i, m))
    if len(items) < 2 or not any(m.group("cursor") for _, m in items):
        return None
    first = items[0][0]
    question = next((ln.strip() for ln in reversed(lines[:first]) if ln.strip()), "")
    if not question.endswith("?"):
        return None
    options = []
    for _, m in items:
        option = {"key": m.group("key"), "label": m.group("label")}
        if m.group("cursor"):
            option["default"] = True
        options.append(option)
    approve = next((o["key"] for o in options if o["label"].lower().startswith("yes")), None)
    if approve is None:
        return None
    return {"question": question, "options": options, "approve_key": approve}
