"""A hook's tool call → one event, its risk from the exact command or target."""

from __future__ import annotations

import pytest

from extraction.engine.hook_events import tool_call_event, tool_call_risk


@pytest.mark.parametrize(
    ("tool", "tool_input", "risk", "command"),
    [
        ("Bash", {"command": "rm -rf build/", "description": "x"}, "high", "rm -rf build/"),
        ("Bash", {"command": "ls -la"}, "low", "ls -la"),
        ("Bash", {"command": "pip install requests"}, "medium", "pip install requests"),
        # Codex's exec_command and the shell wrapper it runs everything in
        ("exec_command", {"cmd": "bash -lc 'rm -rf dist'"}, "high", "rm -rf dist"),
        ("shell", {"command": ["bash", "-lc", "ls"]}, "low", "ls"),
        ("Read", {"file_path": "/etc/passwd"}, "low", None),
        ("Edit", {"file_path": "/home/dev/proj/app.py"}, "medium", None),
        ("Write", {"file_path": "/etc/hosts"}, "high", None),
        ("Edit", {"file_path": "../elsewhere.py"}, "high", None),
        ("WebFetch", {"url": "https://example.com"}, "medium", None),
        # unreadable: fail safe
        ("Bash", {}, "high", None),
        ("Edit", {}, "high", None),
        ("SomeNewTool", {"x": 1}, "high", None),
    ],
)
def test_risk_comes_from_the_exact_command_or_target(tool, tool_input, risk, command):
    assert tool_call_risk(tool, tool_input, cwd="/home/dev/proj") == (risk, command)


PAYLOAD = {
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "rm -rf build/", "description": "Remove the build directory"},
    "tool_use_id": "toolu_0001",
    "permission_mode": "auto",
}


def test_a_held_call_is_a_hook_permission_prompt_with_its_exact_input():
    event = tool_call_event("claude", PAYLOAD, prompt=True)
    assert (event.event_type, event.rule, event.risk_level) == ("prompt", "hook_permission", "high")
    assert event.content == "$ rm -rf build/"
    meta = event.metadata
    assert (meta["source"], meta["agent"], meta["tool"]) == ("hook", "claude", "Bash")
    assert (meta["command"], meta["tool_use_id"]) == ("rm -rf build/", "toolu_0001")
    assert meta["tool_input"] == PAYLOAD["tool_input"]
    assert meta["permission_mode"] == "auto" and not event.auto_confirmable


def test_any_other_call_is_a_tool_call_metric():
    payload = {**PAYLOAD, "tool_name": "WebFetch", "tool_input": {"url": "https://example.com/a"}}
    event = tool_call_event("claude", payload, prompt=False)
    assert (event.event_type, event.rule, event.risk_level) == (
        "metric",
        "agent_tool_call",
        "medium",
    )
    assert event.content == "WebFetch https://example.com/a"


def test_secrets_in_a_command_are_redacted():
    payload = {
        **PAYLOAD,
        "tool_input": {"command": "curl -H 'Authorization: Bearer sk-abcdefghijklmnopqrstuvwx' x"},
    }
    event = tool_call_event("claude", payload, prompt=True)
    assert "sk-abcdefghijklmnopqrstuvwx" not in event.content
    assert "sk-abcdefghijklmnopqrstuvwx" not in str(event.metadata)
