"""How risky it is to approve or act on something, mostly judged from the command it names.

The pattern lists are plain data so that the approval feature and user rule files can reuse
and extend them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (name, regex). Any of these in a command or an event's content makes it high risk.
DESTRUCTIVE_PATTERNS: list[tuple[str, str]] = [
    ("rm_recursive", r"\brm\s+(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\b"),
    ("git_push_force", r"\bgit\s+push\b[^\n;|&]*\s(?:--force(?:-with-lease)?|-f)\b"),
    ("git_reset_hard", r"\bgit\s+reset\b[^\n;|&]*\s--hard\b"),
    ("git_clean_force", r"\bgit\s+clean\b[^\n;|&]*\s-[a-zA-Z]*f"),
    ("git_branch_force_delete", r"\bgit\s+branch\b[^\n;|&]*\s-D\b"),
    ("sql_drop", r"(?i)\bdrop\s+(?:table|database|schema)\b"),
    ("sql_truncate", r"\bTRUNCATE\b|(?i:\btruncate\s+table\b)"),
    ("sql_delete_without_where", r"(?i)\bdelete\s+from\s+[\w.\"`]+\s*(?:;|$)"),
    ("chmod_777_recursive", r"\bchmod\s+(?:-R\s+0?777|0?777\s+-R)\b"),
    ("pipe_to_shell", r"\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b"),
    ("mkfs", r"\bmkfs(?:\.\w+)?\b"),
    ("dd", r"\bdd\s+if="),
    ("sudo", r"\bsudo\b"),
    ("fork_bomb", r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:"),
    ("write_block_device", r">\s*/dev/(?:sd[a-z]|nvme\d|hd[a-z]|disk\d|mmcblk\d)"),
]

# Lowercase literals of which every built-in destructive pattern contains one: the regex only
# runs when one is present (user-added patterns switch this check off).
DESTRUCTIVE_LITERALS = ("rm ", "rm\t", "git", "drop", "truncate", "delete", "chmod", "curl", "wget",
                        "mkfs", "dd ", "sudo", ":(", "/dev/")  # fmt: skip

# Installs and network access: worth a look, not a disaster.
MEDIUM_PATTERNS: list[tuple[str, str]] = [
    ("pip_install", r"\bpip3?\s+(?:install|uninstall)\b|\buv\s+(?:pip\s+)?(?:install|add)\b"),
    ("npm_install", r"\b(?:npm|pnpm|yarn)\s+(?:install|i|ci|add|remove|uninstall)\b"),
    ("system_install", r"\b(?:apt|apt-get|brew|dnf|yum|pacman|apk)\s+\w+"),
    ("network", r"\b(?:curl|wget|ssh|scp|rsync|nc|telnet)\b"),
    ("git_push", r"\bgit\s+push\b"),
    ("docker", r"\bdocker\s+(?:run|push|rm|rmi|exec)\b"),
]

# Read-only commands: a command is low risk only if every part of it is one of these.
LOW_PATTERNS: list[tuple[str, str]] = [
    ("list", r"(?:ls|ll|tree|pwd|du|df|wc|which|file|stat)\b"),
    ("read", r"(?:cat|head|tail|less|more|bat)\b"),
    ("search", r"(?:grep|rg|ag|ack)\b|find\b(?!.*\s-(?:delete|exec))"),
    ("echo", r"echo\b"),
    ("git_read", r"git\s+(?:status|diff|log|show|blame|branch(?!.*\s-[dD]))\b"),
    ("tests", r"(?:python3?\s+-m\s+)?pytest\b|(?:npm|yarn|pnpm)\s+(?:run\s+)?test\b"),
    ("tests_other", r"(?:cargo|go)\s+test\b|make\s+test\b"),
]

# Words in a question that ask to destroy or replace something.
DESTRUCTIVE_WORDS = r"(?i)\b(?:remove|delete|overwrite|discard|erase|wipe|destroy|drop|force)\b"
LOW_WORDS = r"(?i)\b(?:run(?:ning)? (?:the )?tests?|pytest|git status|git diff|read(?:ing)? (?:the )?files?)\b"

# What a prompt or tool call gets when what it would run or touch cannot be read: approving
# something unread is approving anything, so it is never a candidate for an automatic answer.
UNKNOWN_RISK = "high"

_SPLIT_RE = re.compile(r"&&|\|\||[;|\n]")
_REDIRECT_RE = re.compile(r"(?<![\d&>])>(?!&)")
_BACKTICK_RE = re.compile(r"`([^`\n]+)`")


def _scoped(regex: str) -> str:
    # Leading global flags ("(?i)...") are only allowed at the start of the whole pattern.
    if regex.startswith("(?i)"):
        return f"(?i:{regex[4:]})"
    return f"(?:{regex})"


def _compile(patterns: list[tuple[str, str]]):
    """One matcher for a list of patterns. The built-in ones are Python regexes (they use
    lookarounds); a user's (``[commands]`` in a rules file, names ``user_…``) run under RE2, in
    time linear in the text, so that no pattern of theirs can stall a prompt's command."""
    own = [regex for name, regex in patterns if not name.startswith("user_")]
    users = [regex for name, regex in patterns if name.startswith("user_")]
    builtin = re.compile("|".join(_scoped(regex) for regex in own) or r"(?!x)x")
    if not users:
        return builtin
    import re2  # a requirement; only a rules file with [commands] needs it here

    options = re2.Options()
    options.log_errors = False
    return _EitherPattern(builtin, re2.compile("|".join(_scoped(r) for r in users), options))


class _EitherPattern:
    """``search``/``match`` of the built-in pattern, else of the user's."""

    def __init__(self, builtin, user):
        self.builtin, self.user = builtin, user

    def search(self, text: str):
        return self.builtin.search(text) or self.user.search(text)

    def match(self, text: str):
        return self.builtin.match(text) or self.user.match(text)


@dataclass
class CommandPolicy:
    destructive: list[tuple[str, str]] = field(default_factory=lambda: list(DESTRUCTIVE_PATTERNS))
    medium: list[tuple[str, str]] = field(default_factory=lambda: list(MEDIUM_PATTERNS))
    low: list[tuple[str, str]] = field(default_factory=lambda: list(LOW_PATTERNS))

    def __post_init__(self) -> None:
        self.compile()

    def compile(self) -> None:
        builtin_only = all(p in DESTRUCTIVE_PATTERNS for p in self.destructive)
        self.destructive_literals = DESTRUCTIVE_LITERALS if builtin_only else None
        self.destructive_re = _compile(self.destructive)
        self.medium_re = _compile(self.medium)
        self.low_re = _compile(self.low)
        self.destructive_words_re = re.compile(DESTRUCTIVE_WORDS)
        self.low_words_re = re.compile(LOW_WORDS)

    def find_destructive(self, text: str) -> str | None:
        """The destructive command text named in `text`, if any."""
        if self.destructive_literals is not None:
            low = text.lower()
            for literal in self.destructive_literals:
                if literal in low:
                    break
            else:
                return None
        m = self.destructive_re.search(text)
        return m.group(0) if m else None

    def risk_for_command(self, cmd: str) -> str:
        if self.destructive_re.search(cmd):
            return "high"
        parts = [p.strip() for p in _SPLIT_RE.split(cmd) if p.strip()]
        if not parts:
            return UNKNOWN_RISK
        if self.medium_re.search(cmd):
            return "medium"
        for part in parts:
            if _REDIRECT_RE.search(part) or not self.low_re.match(part):
                return "medium"
        return "low"


DEFAULT_POLICY = CommandPolicy()


def risk_for_command(cmd: str, policy: CommandPolicy | None = None) -> str:
    """ "low", "medium" or "high" for a shell command, by the default (or given) lists."""
    return (policy or DEFAULT_POLICY).risk_for_command(cmd)


def command_in(text: str, policy: CommandPolicy | None = None) -> str | None:
    """The command a question or its context names: a destructive one first, then `quoted`."""
    policy = policy or DEFAULT_POLICY
    quoted = [q.strip() for q in _BACKTICK_RE.findall(text)]
    for candidate in quoted + text.splitlines():
        if policy.find_destructive(candidate):
            return candidate.strip().lstrip("$> ").strip()
    return quoted[0] if quoted else None


def prompt_risk(
    question: str, context: str, policy: CommandPolicy | None = None
) -> tuple[str, str | None]:
    """(risk, command) for a prompt waiting for an answer."""
    policy = policy or DEFAULT_POLICY
    text = f"{context}\n{question}"
    command = command_in(text, policy)
    if command and policy.destructive_re.search(command):
        return "high", command
    if policy.destructive_words_re.search(question):
        return "high", command
    if command:
        return policy.risk_for_command(command), command
    if policy.medium_re.search(question):
        return "medium", None
    if policy.low_words_re.search(question):
        return "low", None
    return UNKNOWN_RISK, None


# The seed table: (event_type, severity) -> risk; a None severity matches any.
BASE_RISK = {
    ("error", "critical"): "high",
    ("error", "error"): "high",
    ("error", "warning"): "medium",
    ("error", "info"): "medium",
    ("warning", None): "medium",
    ("metric", None): "low",
    ("code_block", None): "low",
    ("prompt", None): "medium",
}


def base_risk(event_type: str, severity: str) -> str:
    return BASE_RISK.get((event_type, severity)) or BASE_RISK.get((event_type, None)) or "medium"
