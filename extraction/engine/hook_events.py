"""Events from an agent's hooks: the exact tool call the agent is about to make.

Claude Code and Codex call a hook before every tool call (``PreToolUse``) with JSON on stdin:
``tool_name``, ``tool_input`` (Claude's ``Bash`` → ``{"command": …}``, ``Edit``/``Write`` →
``{"file_path": …}``, ``WebFetch`` → ``{"url": …}``; Codex's ``Bash`` → ``{"command": …}``) and
``tool_use_id``. Risk comes from the exact command through the command-aware risk model; a call
whose command or target cannot be read is high risk.
"""

from __future__ import annotations

import os
import shlex

from .agent_streams import unwrap_shell
from .events import Event
from .redact import redact
from .risk import DEFAULT_POLICY, CommandPolicy

# Tools that only read: the agents never ask about them, so neither does the tap.
READ_ONLY_TOOLS = frozenset(
    {"Read", "Glob", "Grep", "LS", "NotebookRead", "TodoWrite", "TodoRead", "Task", "Agent",
     "ExitPlanMode", "ToolSearch", "view_image", "update_plan"}
)  # fmt: skip
FILE_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit", "apply_patch"})
WEB_TOOLS = frozenset({"WebFetch", "WebSearch", "web_search"})
COMMAND_KEYS = ("command", "cmd")
_CONTENT_CAP = 4000


def tool_command(tool_input: dict) -> str | None:
    """The shell command of a tool call (Claude's ``command``, Codex's ``cmd`` or argv list)."""
    for key in COMMAND_KEYS:
        value = tool_input.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            # ["bash", "-lc", "ls"]: the script is the command; other argv lists as typed
            is_shell = len(value) == 3 and value[1] in ("-c", "-lc")
            value = value[2] if is_shell else shlex.join(value)
        if isinstance(value, str) and value.strip():
            return unwrap_shell(value)
    return None


def _file_risk(path: str, cwd: str | None) -> str:
    if path.startswith("~") or os.path.normpath(path).startswith(".."):
        return "high"
    if cwd and os.path.isabs(path):
        inside = os.path.realpath(path).startswith(os.path.realpath(cwd) + os.sep)
        return "medium" if inside else "high"
    return "medium"


def tool_call_risk(
    tool: str, tool_input: dict, *, cwd: str | None = None, policy: CommandPolicy | None = None
) -> tuple[str, str | None]:
    """(risk, command) of a tool call. Unknown tools and unreadable inputs are high."""
    policy = policy or DEFAULT_POLICY
    if tool in READ_ONLY_TOOLS:
        return "low", None
    command = tool_command(tool_input)
    if command is not None:
        return policy.risk_for_command(command), command
    if tool in FILE_TOOLS:
        path = tool_input.get("file_path") or tool_input.get("notebook_path")
        return (_file_risk(path, cwd) if isinstance(path, str) and path else "high"), None
    if tool in WEB_TOOLS:
        return "medium", None
    return "high", None


def describe_call(tool: str, tool_input: dict, command: str | None) -> str:
    """One line a person reads: ``$ rm -rf build/``, ``Edit src/app.py``, ``WebFetch https://…``."""
    if command is not None:
        return f"$ {command}"
    for key in ("file_path", "notebook_path", "url", "query", "pattern", "path"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return f"{tool} {value}"
    return tool


def tool_call_event(
    agent: str,
    payload: dict,
    *,
    prompt: bool,
    cwd: str | None = None,
    policy: CommandPolicy | None = None,
) -> Event:
    """The event for a ``PreToolUse`` payload: a prompt when a decision is wanted on it."""
    tool = str(payload.get("tool_name") or "?")
    tool_input = payload.get("tool_input")
    tool_input = tool_input if isinstance(tool_input, dict) else {}
    risk, command = tool_call_risk(tool, tool_input, cwd=cwd, policy=policy)
    content = redact(describe_call(tool, tool_input, command))[:_CONTENT_CAP]
    shown_input = {k: redact(v) if isinstance(v, str) else v for k, v in tool_input.items()}
    meta = {
        "source": "hook",
        "agent": agent,
        "hook_event": str(payload.get("hook_event_name") or "PreToolUse"),
        "tool": tool,
        "tool_input": shown_input,
        "tool_use_id": payload.get("tool_use_id"),
        "command": redact(command) if command is not None else None,
        "permission_mode": payload.get("permission_mode"),
    }
    if prompt:
        meta["question"] = f"Allow {tool}: {content}?"
        return Event("prompt", "hook_permission", "warning", risk, False, 0, 0, content, "", meta)
    meta.update(name="tool_call", value=1, unit="calls")
    return Event("metric", "agent_tool_call", "info", risk, risk == "low", 0, 0, content, "", meta)
