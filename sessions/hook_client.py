"""The command an agent runs as its hook: hand the tool call to the tap, answer with its decision.

Stdlib only and started with ``python -S`` so it costs the agent ~20 ms per tool call:

    python -S /path/to/sessions/hook_client.py claude PreToolUse  < payload.json

The tap listens on a Unix socket whose path is in ``STREAMTAP_HOOK_SOCKET`` (mode 0600 in a 0700
directory). One JSON line goes out (``{"agent", "event", "payload"}``), one comes back:
``{"decision": "allow"|"deny"|"none", "reason": …}``. "none" means no opinion: print nothing,
so the agent's own permission logic (and its prompt) applies.

When the tap cannot be reached or does not answer within ``STREAMTAP_HOOK_WAIT`` seconds, the
hook fails closed: a call that is not low risk is denied with the reason; a low-risk one is
left to the agent. It never waits longer than that, so the agent never hangs on a dead tap.
"""

from __future__ import annotations

import json
import os
import socket
import sys

SOCKET_ENV = "STREAMTAP_HOOK_SOCKET"
WAIT_ENV = "STREAMTAP_HOOK_WAIT"
DEFAULT_WAIT = 600.0
DECISION_EVENTS = frozenset({"PreToolUse"})
# Codex blocks a call when its hook exits with this status (reason on stderr).
CODEX_BLOCK_STATUS = 2


def ask_tap(message: dict, wait: float) -> dict:
    """The tap's answer; raises OSError (or ValueError) when there is none."""
    path = os.environ.get(SOCKET_ENV)
    if not path:
        raise OSError(f"{SOCKET_ENV} is not set")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(wait)
        sock.connect(path)
        sock.sendall(json.dumps(message).encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    answer = json.loads(reply)
    if not isinstance(answer, dict) or answer.get("decision") not in ("allow", "deny", "none"):
        raise ValueError(f"unexpected answer from the tap: {reply[:200]!r}")
    return answer


def fail_closed(payload: dict, why: str) -> dict:
    """The tap is gone: deny anything that is not low risk, by the tap's own risk model."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from extraction.engine.hook_events import tool_call_risk

        tool_input = payload.get("tool_input")
        risk, _ = tool_call_risk(
            str(payload.get("tool_name") or "?"),
            tool_input if isinstance(tool_input, dict) else {},
            cwd=payload.get("cwd"),
        )
    except Exception:  # noqa: BLE001 - any failure here must still fail closed
        risk = "high"
    if risk == "low":
        return {"decision": "none", "reason": ""}
    return {
        "decision": "deny",
        "reason": f"streamtap could not decide ({why}): denied, {risk} risk",
    }


def render(agent: str, event: str, answer: dict) -> tuple[str, int]:
    """(stdout, exit status) in the agent's hook protocol."""
    decision, reason = answer["decision"], str(answer.get("reason") or "")
    if decision == "none" or event not in DECISION_EVENTS:
        return "", 0
    if agent == "codex" and decision == "deny":
        return "", CODEX_BLOCK_STATUS
    output = {
        "hookSpecificOutput": {
            "hookEventName": event,
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }
    return json.dumps(output), 0


def main(argv: list[str]) -> int:
    agent = argv[0] if argv else "generic"
    event = argv[1] if len(argv) > 1 else "PreToolUse"
    try:
        payload = json.loads(sys.stdin.read() or "{}")
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    try:
        wait = float(os.environ.get(WAIT_ENV) or DEFAULT_WAIT)
    except ValueError:
        wait = DEFAULT_WAIT
    message = {"agent": agent, "event": event, "payload": payload}
    try:
        answer = ask_tap(message, wait)
    except (OSError, ValueError) as exc:
        if event not in DECISION_EVENTS:
            return 0
        answer = fail_closed(payload, str(exc) or type(exc).__name__)
    out, status = render(agent, event, answer)
    if out:
        sys.stdout.write(out + "\n")
    if status:
        sys.stderr.write(str(answer.get("reason") or "denied by streamtap") + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
