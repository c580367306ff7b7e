"""aider's questions: "Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]:" on the cursor's line."""

from __future__ import annotations

import re

from ..prompts import LETTER_OPTIONS_RE, build_letter_options
from .layout import ENTER, dedent, option_kind, paragraph_above, waiting_line

NAME = "aider"


def find_confirm(lines: list[str], last: int, cursor_row: int) -> dict | None:
    if not waiting_line(lines, last, cursor_row):
        return None
    line = lines[last].rstrip()
    m = LETTER_OPTIONS_RE.match(line)
    if not (m and "/" in m.group("opts") and (meta := build_letter_options(m, line))):
        return None
    found = {"program": "aider", **meta, "rule": "aider_confirm"}
    found["options"] = [dict(o, kind=option_kind(o["label"])) for o in found["options"]]
    above = paragraph_above(lines, last)
    if re.search(r"(?i)\bshell command", found["question"]) and above:
        found["command"] = "\n".join(s.strip() for s in above)
    elif above and re.search(r"(?i)\bfile\b", found["question"]):
        found["file"] = above[-1].strip()
    found["block"] = dedent([*above, line])
    found["approve_writes"] = ["y", ENTER]
    found["deny_writes"] = ["n", ENTER]
    found["deny_key"] = "n"
    return found
