"""The agent's own hooks as the tap's primary channel for its tool calls.

When the wrapped program is Claude Code or Codex, the tap installs hooks for this run only
(Claude Code: ``--settings <json>``; Codex: ``-c hooks…`` overrides and
``--dangerously-bypass-hook-trust``; never the user's settings files) that run
``sessions/hook_client.py``. The client sends every tool call to this module over a Unix socket
(0600, in a 0700 directory) and waits for the answer:

- a high-risk call is HELD: it becomes a prompt event (rule ``hook_permission``) that the
  policy, the dashboard or the prompt timeout decides through ``PromptController``, and the
  hook answers allow or deny. Never "ask": Claude Code auto-approves "ask" in some modes.
- a call the ``--auto-confirm`` policy covers is allowed by it (a prompt answered by policy);
- any other call is recorded (metric ``agent_tool_call``) and gets no opinion, so the agent's
  own prompt shows; when the screen then reports that prompt, ``join()`` gives it the hook's
  ``tool_use_id`` and exact command, so the question stays ONE prompt event.

Events are made on the socket's threads and emitted on the tap's reader thread (``drain()``),
which numbers them with the output's events.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from extraction.engine import Event
from extraction.engine.hook_events import READ_ONLY_TOOLS, tool_call_event

from ..hook_client import SOCKET_ENV, WAIT_ENV
from .approvals import KEYSTROKE_GAP_SECONDS, answer_writes

AGENT_KINDS = ("claude", "codex", "aider", "generic")
HOOKED_KINDS = ("claude", "codex")
# Codex 0.171 refuses a hook's "allow" ("unsupported permissionDecision:allow"): an approved
# call gets no opinion, and when Codex then asks on its own screen the tap gives the same answer.
ALLOW_UNSUPPORTED = frozenset({"codex"})
RISK_ORDER = {"low": 0, "medium": 1, "high": 2}
HOOK_CLIENT = Path(__file__).resolve().parent.parent / "hook_client.py"
# Without a prompt timeout a held call waits this long for a person, then is denied.
DEFAULT_HOLD_SECONDS = 600.0
# The agent kills a hook after its own timeout: give the tap's answer time to arrive first.
HOOK_TIMEOUT_MARGIN = 10
# A tool call the screen's prompt may belong to: seen by PreToolUse, not yet by PostToolUse.
OUTSTANDING_SECONDS = 120.0
MAX_MESSAGE_BYTES = 1 << 20
# bind() takes a socket path of at most 107 bytes on Linux (103 on macOS), NUL excluded.
SOCKET_PATH_MAX = 103
SOCKET_DIR_PREFIX = "streamtap-hooks-"
SOCKET_NAME = "tap.sock"


def socket_directory() -> str:
    """A new 0700 directory (mkdtemp) for the hooks' socket, in the temporary directory when
    the socket's path fits ``bind()`` there, else in /tmp: under a deep TMPDIR (a CI runner's, a
    test runner's) bind() failed with "AF_UNIX path too long" for every Claude Code or Codex tap."""
    sample = os.path.join(SOCKET_DIR_PREFIX + "x" * 8, SOCKET_NAME)  # mkdtemp adds 8 characters
    for parent in (tempfile.gettempdir(), "/tmp"):
        if len(os.fsencode(os.path.join(parent, sample))) <= SOCKET_PATH_MAX:
            return tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX, dir=parent)
    raise OSError("no temporary directory short enough for a Unix socket")


def agent_kind(argv: list[str], override: str | None = None) -> str:
    """claude, codex, aider or generic, by the program's name (``--agent-kind`` overrides)."""
    if override:
        return override
    names = [Path(a).name.lower() for a in argv[:2]]  # `node …/cli.js` style launches too
    for kind in ("claude", "codex", "aider"):
        if any(name == kind or name.startswith(f"{kind}-") or name.startswith(f"{kind}.")
               for name in names):  # fmt: skip
            return kind
    return "generic"


HOOK_INSTALLS = {
    "claude": "--settings <json> (this run only; settings files untouched)",
    "codex": "-c hooks.PreToolUse/PostToolUse + --dangerously-bypass-hook-trust (this run only)",
}


def agent_channels(kind: str, hooks: AgentHooks | None, transcript) -> dict:
    """What the session's state change says about where its prompts and content come from."""
    return {
        "agent": kind,
        "hooks": HOOK_INSTALLS.get(kind) if hooks is not None else None,
        "transcript": kind if transcript is not None else None,
        "prompts": "hook, then the screen" if hooks is not None else "screen and lines only",
    }


def hook_command(agent: str, event: str) -> str:
    # -S: no site-packages, ~20 ms to start; the client needs the stdlib only.
    return shlex.join([sys.executable, "-S", str(HOOK_CLIENT), agent, event])


def claude_settings(timeout: int) -> dict:
    """Claude Code's per-run settings (``--settings``): our hooks, on every tool."""

    def hooks(event: str) -> list[dict]:
        handler = {
            "type": "command",
            "command": hook_command("claude", event),
            "timeout": timeout,
            # 2.1.295+: a failed or timed-out hook blocks the call (older releases ignore it).
            "onFailure": "block",
        }
        return [{"matcher": "*", "hooks": [handler]}]

    return {"hooks": {event: hooks(event) for event in ("PreToolUse", "PostToolUse")}}


def codex_overrides(timeout: int) -> list[str]:
    """Codex's per-run ``-c`` overrides: our hooks, on every tool."""
    args = []
    for event in ("PreToolUse", "PostToolUse"):
        handler = {"type": "command", "command": hook_command("codex", event), "timeout": timeout}
        value = f'[{{matcher = "*", hooks = [{_toml_inline(handler)}]}}]'
        args += ["-c", f"hooks.{event}={value}"]
    return args


def _toml_inline(table: dict) -> str:
    return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + "}"


def hooked_argv(kind: str, argv: list[str], timeout: int) -> list[str]:
    """The command line with this run's hooks; unchanged for agents without hooks."""
    if kind == "claude":
        return [argv[0], "--settings", json.dumps(claude_settings(timeout)), *argv[1:]]
    if kind == "codex":
        return [argv[0], *codex_overrides(timeout), "--dangerously-bypass-hook-trust", *argv[1:]]
    return list(argv)


@dataclass
class HeldCall:
    """A hook waiting on its socket for a decision."""

    done: threading.Event = field(default_factory=threading.Event)
    decision: str = "deny"
    reason: str = ""
    by: str = ""
    seq: int | None = None  # its prompt event's

    def resolve(self, verb: str, by: str) -> None:
        self.decision = "allow" if verb == "approve" else "deny"
        self.by = by
        self.reason = f"streamtap: {'approved' if verb == 'approve' else 'denied'} by {by}"
        self.done.set()


@dataclass
class OutstandingCall:
    tool_use_id: str | None
    command: str | None
    risk: str
    seen_at: float = field(default_factory=time.monotonic)
    # Who approved it through the hook, when the agent may still ask on its own screen.
    approved_by: str | None = None
    hook_seq: int | None = None


class AgentHooks:
    """The tap's end of the hook socket for one session."""

    def __init__(
        self,
        kind: str,
        *,
        auto_confirm: str | None,
        hold_seconds: float,
        cwd: str,
        send_input: Callable[[bytes], None],
        on_transcript: Callable[[str], None] | None = None,
    ):
        self.kind = kind
        self.auto_confirm = auto_confirm
        self.hold_seconds = hold_seconds or DEFAULT_HOLD_SECONDS
        self.cwd = cwd
        self.send_input = send_input
        self.on_transcript = on_transcript
        self._queue: queue.SimpleQueue[tuple[Event, HeldCall | None]] = queue.SimpleQueue()
        self._held: dict[int, HeldCall] = {}
        self._ids = itertools.count(1)
        self._outstanding: dict[str, OutstandingCall] = {}
        self._lock = threading.Lock()
        self._closed = False
        # mkdtemp makes the directory 0700: only this user reaches the socket.
        self.directory = socket_directory()
        self.path = os.path.join(self.directory, SOCKET_NAME)
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        os.chmod(self.path, 0o600)
        self._server.listen(16)
        self._thread = threading.Thread(target=self._serve, name="streamtap-hooks", daemon=True)
        self._thread.start()

    # ---- wiring ----

    @property
    def hook_timeout(self) -> int:
        return int(self.hold_seconds) + HOOK_TIMEOUT_MARGIN

    def env(self) -> dict[str, str]:
        return {SOCKET_ENV: self.path, WAIT_ENV: str(self.hold_seconds + HOOK_TIMEOUT_MARGIN / 2)}

    def argv(self, argv: list[str]) -> list[str]:
        return hooked_argv(self.kind, argv, self.hook_timeout)

    def close(self) -> None:
        self._closed = True
        try:
            self._server.close()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
        # Hooks still waiting get a denial: the program is gone or going.
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for call in held:
            call.resolve("deny", "program")

    # ---- the socket's threads ----

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5.0)
                data = b""
                while not data.endswith(b"\n") and len(data) < MAX_MESSAGE_BYTES:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                message = json.loads(data)
                answer = self.answer(message) if isinstance(message, dict) else None
            except (OSError, ValueError):
                answer = None
            if answer is None:
                answer = {"decision": "deny", "reason": "streamtap: unreadable hook message"}
            try:
                conn.settimeout(5.0)
                conn.sendall(json.dumps(answer).encode() + b"\n")
            except OSError:
                pass

    def answer(self, message: dict) -> dict:
        """The decision on one hook call (blocks while a held call waits)."""
        payload = message.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        event = str(message.get("event") or "")
        agent = str(message.get("agent") or self.kind)
        transcript = payload.get("transcript_path")
        if isinstance(transcript, str) and transcript and self.on_transcript is not None:
            self.on_transcript(transcript)
        if event == "PostToolUse":
            with self._lock:
                self._outstanding.pop(str(payload.get("tool_use_id")), None)
            return {"decision": "none"}
        if event != "PreToolUse":
            return {"decision": "none"}
        probe = tool_call_event(agent, payload, prompt=False, cwd=self.cwd)
        if not self._wants_decision(probe):
            self._remember(probe)
            self._emit(probe, None)
            return {"decision": "none"}
        call = HeldCall()
        held = tool_call_event(agent, payload, prompt=True, cwd=self.cwd)
        self._emit(held, call)
        if not call.done.wait(self.hold_seconds + HOOK_TIMEOUT_MARGIN / 4):
            call.resolve("deny", "timeout")
        if call.decision == "allow" and agent in ALLOW_UNSUPPORTED:
            self._remember(held, approved_by=call.by, hook_seq=call.seq)
            return {"decision": "none"}
        return {"decision": call.decision, "reason": call.reason}

    def _wants_decision(self, event: Event) -> bool:
        if event.risk_level == "high":
            return True
        if not self.auto_confirm or event.metadata["tool"] in READ_ONLY_TOOLS:
            return False
        return RISK_ORDER[event.risk_level] <= RISK_ORDER[self.auto_confirm]

    def _remember(
        self, event: Event, approved_by: str | None = None, hook_seq: int | None = None
    ) -> None:
        meta = event.metadata
        key = str(meta.get("tool_use_id") or id(event))
        now = time.monotonic()
        with self._lock:
            for old in [k for k, c in self._outstanding.items()
                        if now - c.seen_at > OUTSTANDING_SECONDS]:  # fmt: skip
                del self._outstanding[old]
            self._outstanding[key] = OutstandingCall(
                meta.get("tool_use_id"),
                meta.get("command"),
                event.risk_level,
                approved_by=approved_by,
                hook_seq=hook_seq,
            )

    def _emit(self, event: Event, call: HeldCall | None) -> None:
        if call is not None:
            request = next(self._ids)
            event.metadata["hook_request"] = request
            with self._lock:
                self._held[request] = call
        self._queue.put((event, call))
        self.send_input(b"")  # nothing typed: wakes the reader, whose next tick emits the event

    # ---- the reader thread ----

    def drain(self, line: int) -> list[Event]:
        """The events the hooks produced since the last call, at the output's current line."""
        events = []
        while True:
            try:
                event, _ = self._queue.get_nowait()
            except queue.Empty:
                return events
            event.line_start = event.line_end = max(1, line)
            events.append(event)

    def on_prompt_row(self, row: dict, prompts) -> bool:
        """Route a hook's prompt row to the controller; False for other prompts."""
        request = row["metadata"].get("hook_request")
        if row["metadata"].get("source") != "hook" or request is None:
            return False
        with self._lock:
            call = self._held.pop(request, None)
        if call is None:
            return False
        call.seq = row["seq"]
        prompts.on_resolvable_prompt(row, call.resolve, self.hold_seconds)
        return True

    def join(self, row: dict) -> OutstandingCall | None:
        """A prompt the screen found while a hooked tool call is outstanding: the same question.

        The row takes the call's ``tool_use_id`` and exact command; its risk is the higher of
        the two readings (the screen may have cut the command, or not found it at all).
        Returns the call when it was already approved through the hook (Codex asks again):
        the tap then answers the screen's prompt the same way instead of asking twice.
        """
        meta = row["metadata"]
        with self._lock:
            calls = sorted(self._outstanding.values(), key=lambda c: c.seen_at, reverse=True)
        if not calls:
            return None
        shown = (meta.get("command") or "").strip()
        match = next(
            (
                c
                for c in calls
                if shown and c.command and (shown in c.command or c.command in shown)
            ),
            calls[0],
        )
        meta["tool_use_id"] = match.tool_use_id
        meta["sources"] = ["screen", "hook"]
        if match.command:
            if shown and shown != match.command:
                meta["screen_command"] = shown
            meta["command"] = match.command
        if RISK_ORDER.get(match.risk, 2) > RISK_ORDER.get(row["risk_level"], 2):
            row["risk_level"] = match.risk
            row["auto_confirmable"] = False
        if match.approved_by is None:
            return None
        with self._lock:
            self._outstanding.pop(str(match.tool_use_id), None)
        return match

    def answer_again(self, row: dict, call: OutstandingCall) -> dict:
        """Answer the agent's own prompt for a call already approved through its hook.

        Returns the state change's metadata; the row is not stored: the hook's prompt event
        is the question, and it has its answer.
        """
        writes = answer_writes(row["metadata"], "approve")
        threading.Thread(target=self._type, args=(writes,), daemon=True).start()
        return {
            "seq": call.hook_seq,
            "tool_use_id": call.tool_use_id,
            "command": call.command,
            "by": call.approved_by,
            "screen_rule": row["rule"],
            "writes": writes,
        }

    def _type(self, writes: list[str]) -> None:
        for i, data in enumerate(writes):
            if i:
                time.sleep(KEYSTROKE_GAP_SECONDS)
            self.send_input(data.encode())
