"""Events from the transcript an agent writes for its session: the content, with its fences.

A TUI renders Markdown without its fences, so the terminal shows no code block; the transcript
on disk holds what the model said, every tool call with its result, and the token usage:

- Claude Code: ``~/.claude/projects/<cwd>/<session id>.jsonl``, one message per line, in the
  shape of ``claude -p --output-format stream-json`` (``assistant`` / ``user`` lines), each
  assistant line with the message's ``usage``;
- Codex: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-….jsonl``: ``response_item`` lines
  (``message``, ``function_call``, ``function_call_output``) and ``event_msg`` ``token_count``
  with the session's running ``total_token_usage``;
- aider: ``.aider.chat.history.md``: the chat in Markdown, ``#### `` before the person's
  messages, ``> `` before aider's own notes (``> Tokens: 2.1k sent, 45 received. Cost: …``).

Every event carries ``source: "transcript"``. Token usage is reported once, at the end.
"""

from __future__ import annotations

import json
import re

from .agent_streams import _FENCE_RE, AgentStreamParser
from .events import Event

SOURCE = "transcript"
_EXIT_RE = re.compile(r"(?i)(?:process )?exit(?:ed with)?\s+code:?\s*(-?\d+)")
_AIDER_TOKENS_RE = re.compile(
    r"^> Tokens: (?P<sent>[\d.]+)(?P<sk>k?) sent.*?, (?P<recv>[\d.]+)(?P<rk>k?) received\."
    r"(?: Cost: \$(?P<cost>[\d.]+) message)?",
    re.M,
)
# An unclosed fence may still be arriving: keep at most this much text waiting for its end.
MAX_PENDING_CHARS = 1 << 20


def _tokens(number: str, k: str) -> int:
    return round(float(number) * (1000 if k else 1))


class ClaudeTranscript(AgentStreamParser):
    """Claude Code's session JSONL."""

    def __init__(self, cwd: str | None = None):
        super().__init__(cwd=cwd, source=SOURCE)
        self.agent = "claude"
        self._message_usage: dict[str, dict] = {}

    def feed_line(self, line: str, line_no: int) -> list[Event]:
        try:
            obj = json.loads(line)
        except ValueError:
            return []
        if not isinstance(obj, dict) or obj.get("type") not in ("assistant", "user"):
            return []
        message = obj.get("message")
        if obj["type"] == "assistant" and isinstance(message, dict):
            # Claude writes a message once per content block, each line with its usage.
            if isinstance(message.get("usage"), dict):
                self._message_usage[str(message.get("id"))] = message["usage"]
        return self.parse_line(line, line_no) or []

    def close(self) -> list[Event]:
        events = super().close()
        if not self._message_usage:
            return events
        totals = {
            key: sum(u.get(key) or 0 for u in self._message_usage.values() if isinstance(u, dict))
            for key in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
        }
        whole_input = (
            totals["input_tokens"]
            + totals["cache_creation_input_tokens"]
            + totals["cache_read_input_tokens"]
        )
        return events + self._usage(
            whole_input, totals["cache_read_input_tokens"], totals["output_tokens"]
        )


class CodexRollout(AgentStreamParser):
    """Codex's rollout JSONL."""

    def __init__(self, cwd: str | None = None):
        super().__init__(cwd=cwd, source=SOURCE)
        self.agent = "codex"
        self._calls: dict[str, str] = {}
        self._total: dict | None = None

    def feed_line(self, line: str, line_no: int) -> list[Event]:
        try:
            obj = json.loads(line)
        except ValueError:
            return []
        payload = obj.get("payload") if isinstance(obj, dict) else None
        if not isinstance(payload, dict):
            return []
        self._line = line_no
        kind = payload.get("type")
        if obj.get("type") == "event_msg" and kind == "token_count":
            info = payload.get("info")
            if isinstance(info, dict) and isinstance(info.get("total_token_usage"), dict):
                self._total = info["total_token_usage"]
            return []
        if obj.get("type") != "response_item":
            return []
        if kind == "message" and payload.get("role") == "assistant":
            text = "\n".join(
                str(c.get("text", ""))
                for c in payload.get("content") or []
                if isinstance(c, dict) and c.get("type") == "output_text"
            )
            return self._code_blocks(text)
        if kind == "function_call":
            try:
                arguments = json.loads(payload.get("arguments") or "{}")
            except ValueError:
                arguments = {}
            command = arguments.get("cmd") or arguments.get("command")
            if isinstance(command, list):
                command = " ".join(map(str, command))
            if isinstance(command, str):
                self._calls[str(payload.get("call_id"))] = command
            return []
        if kind == "function_call_output":
            command = self._calls.pop(str(payload.get("call_id")), None)
            if command is None:
                return []
            output = payload.get("output")
            output = output if isinstance(output, str) else json.dumps(output)
            m = _EXIT_RE.search(output)
            code = int(m.group(1)) if m else (1 if "blocked" in output.lower() else 0)
            return self._command_done(command, code, output, call_id=payload.get("call_id"))
        return []

    def close(self) -> list[Event]:
        events = super().close()
        if self._total:
            events += self._usage(
                self._total.get("input_tokens"),
                self._total.get("cached_input_tokens"),
                self._total.get("output_tokens"),
            )
        return events


class AiderHistory(AgentStreamParser):
    """aider's ``.aider.chat.history.md``: fed as text, as it grows."""

    def __init__(self, cwd: str | None = None):
        super().__init__(cwd=cwd, source=SOURCE)
        self.agent = "aider"
        self._pending = ""
        self._sent = self._received = 0
        self._cost = 0.0
        self._priced = False

    def feed_text(self, text: str, line_no: int) -> list[Event]:
        self._line = line_no
        self._pending += text
        events: list[Event] = []
        for m in _AIDER_TOKENS_RE.finditer(text):
            self._sent += _tokens(m.group("sent"), m.group("sk"))
            self._received += _tokens(m.group("recv"), m.group("rk"))
            if m.group("cost"):
                self._cost += float(m.group("cost"))
                self._priced = True
        last_end = 0
        # Only fences that are closed: the rest of the text waits for more.
        for m in _FENCE_RE.finditer(self._pending):
            events += self._code_blocks(m.group(0))
            last_end = m.end()
        rest = self._pending[last_end:]
        opened = rest.count("\n```") + rest.startswith("```")
        self._pending = rest[-MAX_PENDING_CHARS:] if opened % 2 else ""
        return events

    def close(self) -> list[Event]:
        events = super().close()
        if self._sent or self._received:
            events += self._usage(self._sent, None, self._received)
        if self._priced:
            events.append(self._metric("cost_usd", round(self._cost, 6), "USD"))
        return events


PARSERS = {"claude": ClaudeTranscript, "codex": CodexRollout, "aider": AiderHistory}
