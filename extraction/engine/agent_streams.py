"""Events from the machine-readable output of coding agents, instead of text rules on JSON.

Two formats, one JSON object per line:

- ``codex exec --json``: ``thread.started``, ``turn.started``, ``item.started``/``item.updated``/
  ``item.completed`` (items ``agent_message``, ``reasoning``, ``command_execution``,
  ``file_change``, ``mcp_tool_call``, ``web_search``, ``todo_list``, ``error``),
  ``turn.completed`` with ``usage``, ``turn.failed``, and a top-level ``error``;
- ``claude -p --output-format stream-json --verbose``: ``system`` (``init``,
  ``permission_denied``, hooks…), ``assistant`` (``text``, ``tool_use``), ``user``
  (``tool_result``), ``result`` (cost, usage, duration, ``permission_denials``).

The mapping (docs/agent-streams.md) aims at what a person reviewing a run wants to see: every
failure, every denial, every command that changed something, every file change, and the cost —
while read-only commands (``ls``, ``cat``, ``pytest``) are only counted, once per turn, so a
busy agent does not flood the session with hundreds of events.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from .events import Event
from .redact import redact
from .risk import DEFAULT_POLICY, UNKNOWN_RISK, CommandPolicy, base_risk

CODEX_TYPES = frozenset(
    {"thread.started", "turn.started", "turn.completed", "turn.failed", "item.started",
     "item.updated", "item.completed", "error"}
)  # fmt: skip
CLAUDE_TYPES = frozenset({"system", "assistant", "user", "result", "stream_event"})
FILE_TOOLS = {"Edit": "update", "MultiEdit": "update", "Write": "write", "NotebookEdit": "update"}
COMMAND_TOOLS = {"Bash"}

OUTPUT_TAIL_LINES = 20
MAX_LISTED_COMMANDS = 50
_RISK_ORDER = {"low": 0, "medium": 1, "high": 2}
# What a tool call acts on, kept per tool_use id after its result (a denial may name only the id).
TARGET_KEYS = ("command", "file_path", "notebook_path", "url")
MAX_REMEMBERED_TARGETS = 4096
# `bash -lc 'ls -la'` is how Codex runs everything; judge the inner command.
_SHELL_WRAPPER_RE = re.compile(
    r"""^(?:/\S*/)?(?:ba|z|da)?sh\s+-l?c\s+(?P<q>['"])(?P<cmd>.*)(?P=q)\s*$""", re.S
)
_EXIT_CODE_RE = re.compile(r"^Exit code (?P<code>-?\d+)")
# How Claude Code words a tool call it was not allowed to make.
_DENIED_RE = re.compile(
    r"(?i)requested permissions? to|haven't granted|permission (?:was )?denied|"
    r"user (?:doesn't|does not) want to (?:proceed|take this action)|was blocked|rejected|"
    r"permission\b[^.\n]{0,40}\bdenied|"
    # a PreToolUse hook's deny, as Claude Code 2.1.332 words it in the tool result
    r"^PreToolUse:\w+ hook error:"
)
_FENCE_RE = re.compile(r"^```(?P<lang>[\w+#.-]*)[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)


def unwrap_shell(command: str) -> str:
    m = _SHELL_WRAPPER_RE.match(command.strip())
    return m.group("cmd") if m else command.strip()


def _max_risk(*risks: str) -> str:
    return max(risks, key=_RISK_ORDER.__getitem__)


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _result_text(content) -> str:
    """A tool_result's content: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(c.get("text", "") for c in content if isinstance(c, dict))
    return ""


class AgentStreamParser:
    """One per session: remembers Claude's tool calls until their results, and turn counters."""

    def __init__(
        self, policy: CommandPolicy | None = None, cwd: str | None = None, source: str = "stream"
    ):
        self.policy = policy or DEFAULT_POLICY
        # Which channel the lines come from: "stream" (the program's output), "transcript".
        self.source = source
        self.cwd = os.path.realpath(cwd) if cwd else None
        self.agent: str | None = None
        self.session_id: str | None = None
        self.model: str | None = None
        self._tools: dict[str, dict] = {}
        self._targets: dict[str, dict] = {}
        self._denied: set[str] = set()
        self._commands: list[str] = []
        self._failed_commands = 0
        self._last_error = ""
        self._line = 0

    # ---- entry point ----

    def parse_line(self, line: str, line_no: int) -> list[Event] | None:
        """Events for an agent JSON line; None when the line is not one (text rules apply)."""
        if line[:1] != "{" or '"type"' not in line:
            return None
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            return None
        kind = obj["type"]
        self._line = line_no
        if kind in CODEX_TYPES and self._is_codex(obj):
            self.agent = self.agent or "codex"
            return self._codex(kind, obj)
        if kind in CLAUDE_TYPES and self._is_claude(obj):
            self.agent = self.agent or "claude"
            return self._claude(kind, obj)
        return None

    def close(self) -> list[Event]:
        """The commands of an unfinished turn, counted at the end of the stream."""
        return self._commands_summary()

    def _is_codex(self, obj: dict) -> bool:
        if obj["type"] == "error":
            # A bare {"type": "error"} log line from some other program is not Codex.
            return self.agent == "codex" or set(obj) <= {"type", "message"}
        return self.agent != "claude"

    def _is_claude(self, obj: dict) -> bool:
        return self.agent == "claude" or "session_id" in obj or isinstance(obj.get("message"), dict)

    # ---- event helpers ----

    def _event(self, event_type: str, rule: str, severity: str, content: str, meta: dict,
               risk: str | None = None) -> Event:  # fmt: skip
        meta = {"agent": self.agent, "source": self.source, **meta}
        risk = risk or base_risk(event_type, severity)
        return Event(
            event_type,
            rule,
            severity,
            risk,
            False,
            self._line,
            self._line,
            redact(content),
            "",
            meta,
        )

    def _metric(self, name: str, value, unit: str, rule: str = "agent_usage", **meta) -> Event:
        content = f"{name}: {value} {unit}".rstrip()
        return self._event(
            "metric", rule, "info", content, {"name": name, "value": value, "unit": unit, **meta}
        )

    def _command_risk(self, command: str) -> str:
        return self.policy.risk_for_command(unwrap_shell(command))

    def _command_done(
        self, command: str, exit_code: int | None, output: str, **meta
    ) -> list[Event]:
        """A finished shell command: an error if it failed, a metric if it changed something."""
        inner = unwrap_shell(command)
        risk = self._command_risk(command)
        self._commands.append(inner)
        shown = redact(inner)
        if exit_code not in (0, None):
            self._failed_commands += 1
            tail = _tail(output)
            content = f"$ {inner}\n{tail}".rstrip() if tail else f"$ {inner}"
            return [self._event("error", "agent_command_failed", "error", content,
                                {"command": shown, "exit_code": exit_code, "output_tail": redact(tail), **meta},
                                risk=_max_risk("high", risk))]  # fmt: skip
        if risk == "low":
            # Read-only: counted in the turn's commands_run metric, not an event each.
            return []
        return [self._event("metric", "agent_command", "info", f"$ {inner}",
                            {"name": "command_exit_code", "value": exit_code, "unit": "", "command": shown, "exit_code": exit_code, **meta},
                            risk=risk)]  # fmt: skip

    def _commands_summary(self) -> list[Event]:
        if not self._commands:
            return []
        commands, failed = self._commands, self._failed_commands
        self._commands, self._failed_commands = [], 0
        return [
            self._metric("commands_run", len(commands), "commands", rule="agent_commands",
                         failed=failed, commands=[redact(c) for c in commands[:MAX_LISTED_COMMANDS]])
        ]  # fmt: skip

    def _file_risk(self, path: str, kind: str) -> str:
        if path.startswith("~") or os.path.normpath(path).startswith(".."):
            return "high"
        if (
            os.path.isabs(path)
            and self.cwd
            and not os.path.realpath(path).startswith(self.cwd + os.sep)
        ):
            return "high"
        return "medium" if kind == "delete" else "low"

    def _files_changed(self, changes: list[dict], **meta) -> Event:
        files = [
            {"path": str(c.get("path", "")), "kind": str(c.get("kind", "update"))} for c in changes
        ]
        risk = _max_risk("low", *(self._file_risk(f["path"], f["kind"]) for f in files))
        content = "\n".join(f"{f['kind']} {f['path']}" for f in files)
        return self._event("metric", "agent_file_change", "info", content,
                           {"name": "files_changed", "value": len(files), "unit": "files", "files": files, **meta},
                           risk=risk)  # fmt: skip

    def _code_blocks(self, text: str) -> list[Event]:
        events = []
        for m in _FENCE_RE.finditer(text):
            code = m.group("code").rstrip("\n")
            destructive = self.policy.find_destructive(code)
            # The same hash as the extractor's blocks (of the stored, redacted text): one
            # CodeBlock row, its occurrences counted, whichever channel saw it.
            digest = hashlib.sha256(redact(code).encode("utf-8", "surrogatepass")).hexdigest()
            meta = {"language": m.group("lang") or None, "sha256": digest}
            if destructive:
                meta["command"] = redact(destructive)
            events.append(self._event("code_block", "agent_code_block", "info", code, meta,
                                      risk="high" if destructive else "low"))  # fmt: skip
        return events

    def _remember_target(self, tool_use_id: str, name, tool_input) -> None:
        if len(self._targets) >= MAX_REMEMBERED_TARGETS:
            self._targets.pop(next(iter(self._targets)))
        kept = {
            k: tool_input[k]
            for k in TARGET_KEYS
            if isinstance(tool_input, dict) and k in tool_input
        }
        self._targets[tool_use_id] = {"name": name, "input": kept}

    def _denied_call(self, tool_use_id, tool_name, tool_input) -> tuple[str, dict]:
        """A denial's tool and input; from the earlier tool_use of that id when it names none."""
        seen = self._tools.get(str(tool_use_id)) or self._targets.get(str(tool_use_id)) or {}
        if not (isinstance(tool_input, dict) and tool_input):
            tool_input = seen.get("input") or {}
        return str(tool_name or seen.get("name") or "?"), tool_input

    def _denial_event(self, tool: str, tool_input: dict, message: str, **meta) -> Event:
        command = tool_input.get("command") if isinstance(tool_input, dict) else None
        path = tool_input.get("file_path") if isinstance(tool_input, dict) else None
        url = tool_input.get("url") if isinstance(tool_input, dict) else None
        if command:
            risk = _max_risk("medium", self._command_risk(command))
        elif path:
            risk = _max_risk("medium", self._file_risk(path, "write"))
        else:
            # What was asked for cannot be read: fail safe.
            risk = "medium" if url else UNKNOWN_RISK
        what = f"$ {unwrap_shell(command)}" if command else (path or url or tool)
        content = f"Permission denied: {tool}: {what}" + (f"\n{message}" if message else "")
        return self._event("warning", "agent_permission_denied", "warning", content,
                           {"tool": tool, "command": redact(unwrap_shell(command)) if command else None,
                            "file": path, **meta}, risk=risk)  # fmt: skip

    # ---- Codex ----

    def _codex(self, kind: str, obj: dict) -> list[Event]:
        if kind == "thread.started":
            self.session_id = obj.get("thread_id")
            return []
        if kind == "item.completed":
            item = obj.get("item") or {}
            return self._codex_item(item)
        if kind == "turn.completed":
            usage = obj.get("usage") or {}
            events = self._commands_summary()
            events += self._usage(usage.get("input_tokens"), usage.get("cached_input_tokens"),
                                  usage.get("output_tokens"))  # fmt: skip
            return events
        if kind == "turn.failed":
            message = (obj.get("error") or {}).get("message", "") or "turn failed"
            events = self._commands_summary()
            # Codex repeats the error that ended the turn: one event is enough.
            if message != self._last_error:
                events.append(self._event("error", "agent_turn_failed", "error", message, {}))
            return events
        if kind == "error":
            message = str(obj.get("message", ""))
            if message.startswith("Reconnecting"):
                return [self._event("warning", "agent_retry", "warning", message, {})]
            self._last_error = message
            return [self._event("error", "agent_error", "error", message, {})]
        return []

    def _codex_item(self, item: dict) -> list[Event]:
        item_type = item.get("type")
        status = item.get("status")
        if item_type == "command_execution":
            command = str(item.get("command", ""))
            if status == "declined":
                return [
                    self._denial_event("shell", {"command": command}, "", item_id=item.get("id"))
                ]
            exit_code = item.get("exit_code")
            if status == "failed" and exit_code in (0, None):
                exit_code = -1
            return self._command_done(command, exit_code, str(item.get("aggregated_output") or ""),
                                      item_id=item.get("id"))  # fmt: skip
        if item_type == "file_change":
            changes = [c for c in item.get("changes") or [] if isinstance(c, dict)]
            if status == "failed":
                paths = ", ".join(str(c.get("path")) for c in changes)
                return [self._event("error", "agent_file_change_failed", "error", f"File change failed: {paths}",
                                    {"files": changes})]  # fmt: skip
            return [self._files_changed(changes)] if changes else []
        if item_type == "mcp_tool_call" and status == "failed":
            error = item.get("error") or {}
            message = error.get("message", "") if isinstance(error, dict) else str(error)
            name = f"{item.get('server', '?')}.{item.get('tool', '?')}"
            return [self._event("error", "agent_tool_failed", "error", f"{name} failed: {message}".strip(),
                                {"tool": name})]  # fmt: skip
        if item_type == "error":
            self._last_error = str(item.get("message", ""))
            return [self._event("error", "agent_error", "error", self._last_error, {})]
        if item_type == "agent_message":
            return self._code_blocks(str(item.get("text", "")))
        return []

    def _usage(self, input_tokens, cached, output_tokens, **meta) -> list[Event]:
        events = []
        for name, value in (("tokens_input", input_tokens), ("tokens_cached_input", cached),
                            ("tokens_output", output_tokens)):  # fmt: skip
            if isinstance(value, int | float):
                events.append(self._metric(name, value, "tokens", **meta))
        return events

    # ---- Claude Code ----

    def _claude(self, kind: str, obj: dict) -> list[Event]:
        self.session_id = obj.get("session_id") or self.session_id
        if kind == "system":
            subtype = obj.get("subtype")
            if subtype == "init":
                self.model = obj.get("model")
                if obj.get("cwd") and self.cwd is None:
                    self.cwd = os.path.realpath(obj["cwd"])
                return []
            if subtype == "permission_denied":
                tool_use_id = obj.get("tool_use_id")
                if tool_use_id in self._denied:
                    return []
                self._denied.add(tool_use_id)
                tool, tool_input = self._denied_call(
                    tool_use_id, obj.get("tool_name"), obj.get("tool_input")
                )
                return [self._denial_event(tool, tool_input, str(obj.get("message", "")),
                                           tool_use_id=tool_use_id)]  # fmt: skip
            return []
        message = obj.get("message") if isinstance(obj.get("message"), dict) else {}
        content = message.get("content")
        if kind == "assistant" and isinstance(content, list):
            events = []
            for block in content:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use":
                    self._tools[str(block.get("id"))] = {
                        "name": block.get("name"),
                        "input": block.get("input") or {},
                    }
                elif block.get("type") == "text":
                    events += self._code_blocks(str(block.get("text", "")))
            return events
        if kind == "user" and isinstance(content, list):
            events = []
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    events += self._tool_result(block)
            return events
        if kind == "result":
            return self._claude_result(obj)
        return []

    def _tool_result(self, block: dict) -> list[Event]:
        tool_use_id = str(block.get("tool_use_id"))
        tool = self._tools.pop(tool_use_id, {"name": "?", "input": {}})
        self._remember_target(tool_use_id, tool["name"], tool["input"])
        name, tool_input = (
            str(tool["name"]),
            tool["input"] if isinstance(tool["input"], dict) else {},
        )
        text = _result_text(block.get("content"))
        if block.get("is_error"):
            if tool_use_id in self._denied:
                # Already reported by a system/permission_denied line.
                return []
            if _DENIED_RE.search(text):
                self._denied.add(tool_use_id)
                return [self._denial_event(name, tool_input, text.strip(), tool_use_id=tool_use_id)]
            if name in COMMAND_TOOLS:
                m = _EXIT_CODE_RE.match(text)
                body = text[m.end() :].lstrip("\n") if m else text
                return self._command_done(str(tool_input.get("command", "")), int(m.group("code")) if m else -1,
                                          body, tool_use_id=tool_use_id)  # fmt: skip
            path = tool_input.get("file_path") or tool_input.get("notebook_path")
            content = f"{name} failed" + (f" ({path})" if path else "") + f": {_tail(text, 5)}"
            return [self._event("error", "agent_tool_failed", "error", content,
                                {"tool": name, "file": path, "tool_use_id": tool_use_id})]  # fmt: skip
        if name in COMMAND_TOOLS:
            return self._command_done(
                str(tool_input.get("command", "")), 0, text, tool_use_id=tool_use_id
            )
        if name in FILE_TOOLS:
            path = tool_input.get("file_path") or tool_input.get("notebook_path") or "?"
            return [self._files_changed([{"path": path, "kind": FILE_TOOLS[name]}], tool=name)]
        return []

    def _claude_result(self, obj: dict) -> list[Event]:
        events = []
        for denial in obj.get("permission_denials") or []:
            if not isinstance(denial, dict) or denial.get("tool_use_id") in self._denied:
                continue
            self._denied.add(denial.get("tool_use_id"))
            tool, tool_input = self._denied_call(denial.get("tool_use_id"), denial.get("tool_name"),
                                                 denial.get("tool_input"))  # fmt: skip
            events.append(
                self._denial_event(tool, tool_input, "", tool_use_id=denial.get("tool_use_id"))
            )
        subtype = str(obj.get("subtype", ""))
        if obj.get("is_error") or subtype.startswith("error"):
            detail = obj.get("result") or "; ".join(map(str, obj.get("errors") or [])) or subtype
            events.append(self._event("error", "agent_result_error", "error", f"{subtype}: {detail}".strip(": "),
                                      {"subtype": subtype, "num_turns": obj.get("num_turns")}))  # fmt: skip
        events += self._commands_summary()
        cost = obj.get("total_cost_usd")
        if isinstance(cost, int | float):
            events.append(self._metric("cost_usd", cost, "USD"))
        usage = obj.get("usage") or {}
        # Claude counts cache reads and writes apart from input_tokens; report the whole input,
        # as Codex does, with the cached part beside it.
        parts = [
            usage.get(k)
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ]
        total_input = sum(p for p in parts if isinstance(p, int | float)) if any(
            isinstance(p, int | float) for p in parts) else None  # fmt: skip
        events += self._usage(
            total_input, usage.get("cache_read_input_tokens"), usage.get("output_tokens")
        )
        if isinstance(obj.get("duration_ms"), int | float):
            events.append(
                self._metric("duration_seconds", round(obj["duration_ms"] / 1000, 3), "s")
            )
        if isinstance(obj.get("num_turns"), int):
            events.append(self._metric("turns", obj["num_turns"], "turns"))
        return events
