"""The tap's hook socket with the real hook client, as the agents run it (``python -S``)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import threading

import pytest

from sessions.agent_hooks import HOOK_CLIENT, AgentHooks, agent_kind, hooked_argv


def run_hook(env: dict, payload: dict, agent="claude", event="PreToolUse", timeout=10):
    return subprocess.run(
        [sys.executable, "-S", str(HOOK_CLIENT), agent, event],
        input=json.dumps(payload).encode(),
        env=env,
        capture_output=True,
        timeout=timeout,
    )


def decision_of(result) -> dict | None:
    out = result.stdout.decode().strip()
    return json.loads(out)["hookSpecificOutput"] if out else None


def bash(command: str, tool_use_id: str = "toolu_1") -> dict:
    return {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": tool_use_id}


class Controller:
    """What PromptController does with a held call, decided by a test instead of a person."""

    def __init__(self, verb: str, by: str):
        self.verb, self.by, self.rows = verb, by, []

    def on_resolvable_prompt(self, row, resolve, hold_seconds):
        self.rows.append(row)
        resolve(self.verb, self.by)


@pytest.fixture
def hooks():
    woken = threading.Event()
    channel = AgentHooks("claude", auto_confirm=None, hold_seconds=5, cwd="/proj",
                         send_input=lambda data: woken.set())  # fmt: skip
    channel.woken = woken
    yield channel
    channel.close()


def hook_env(channel: AgentHooks) -> dict:
    return {**os.environ, **channel.env()}


def test_the_socket_is_private(hooks):
    assert stat.S_IMODE(os.stat(hooks.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(hooks.path).st_mode) == 0o600


def test_under_a_temporary_directory_too_deep_for_a_socket_the_hooks_use_tmp(monkeypatch, tmp_path):
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))

    channel = AgentHooks("claude", auto_confirm=None, hold_seconds=5, cwd="/proj",
                         send_input=lambda data: None)  # fmt: skip
    try:
        assert os.path.dirname(channel.directory) == "/tmp"
        assert stat.S_IMODE(os.stat(channel.directory).st_mode) == 0o700
        result = run_hook(hook_env(channel), bash("ls -la"))
        assert (result.returncode, result.stdout) == (0, b"")
        [event] = channel.drain(line=1)
        assert event.metadata["command"] == "ls -la"
    finally:
        channel.close()
    assert not os.path.exists(channel.directory)


def test_a_low_risk_call_gets_no_opinion_and_is_recorded(hooks):
    result = run_hook(hook_env(hooks), bash("ls -la"))
    assert (result.returncode, result.stdout) == (0, b"")  # the agent's own rules apply
    [event] = hooks.drain(line=7)
    assert (event.rule, event.risk_level, event.line_start) == ("agent_tool_call", "low", 7)
    assert event.metadata["source"] == "hook" and event.metadata["command"] == "ls -la"


def held_call(hooks: AgentHooks, controller: Controller, payload: dict, agent="claude"):
    """Run the hook; once its prompt event is queued, hand its row to the controller."""
    answer = {}
    thread = threading.Thread(
        target=lambda: answer.update(result=run_hook(hook_env(hooks), payload, agent))
    )
    thread.start()
    assert hooks.woken.wait(10)
    [event] = hooks.drain(line=1)
    row = {"seq": 4, "rule": event.rule, "risk_level": event.risk_level, "metadata": event.metadata}
    assert hooks.on_prompt_row(row, controller)
    thread.join(10)
    return event, answer["result"]


@pytest.mark.parametrize("verb", ["approve", "deny"])
def test_a_high_risk_call_is_held_until_decided(hooks, verb):
    event, result = held_call(hooks, Controller(verb, "dashboard:rita"), bash("rm -rf build/"))
    assert (event.event_type, event.rule, event.risk_level) == ("prompt", "hook_permission", "high")
    output = decision_of(result)
    assert output["permissionDecision"] == ("allow" if verb == "approve" else "deny")
    assert "dashboard:rita" in output["permissionDecisionReason"]


def test_codex_is_blocked_with_exit_2_and_a_reason():
    channel = AgentHooks("codex", auto_confirm=None, hold_seconds=5, cwd="/proj",
                         send_input=lambda data: channel.woken.set())  # fmt: skip
    channel.woken = threading.Event()
    try:
        _, result = held_call(channel, Controller("deny", "timeout"), bash("rm -rf /"), "codex")
    finally:
        channel.close()
    assert result.returncode == 2 and b"denied by timeout" in result.stderr


def test_a_dead_tap_denies_high_risk_and_leaves_low_risk_to_the_agent(tmp_path):
    env = {"STREAMTAP_HOOK_SOCKET": str(tmp_path / "gone.sock"), "STREAMTAP_HOOK_WAIT": "2"}
    denied = decision_of(run_hook(env, bash("rm -rf build/")))
    assert (
        denied["permissionDecision"] == "deny" and "high risk" in denied["permissionDecisionReason"]
    )
    assert run_hook(env, {"tool_name": "Read", "tool_input": {"file_path": "a"}}).stdout == b""


def test_the_agent_s_own_prompt_joins_the_outstanding_call(hooks):
    run_hook(hook_env(hooks), bash("mkdir -p dist && touch dist/app", "toolu_9"))
    hooks.drain(line=1)
    # The screen read no command from the box (a new layout): the hook's exact one fills in.
    row = {"rule": "claude_permission", "risk_level": "high", "metadata": {"command": None}}
    assert hooks.join(row) is None
    assert row["metadata"]["tool_use_id"] == "toolu_9"
    assert row["metadata"]["command"] == "mkdir -p dist && touch dist/app"
    assert row["metadata"]["sources"] == ["screen", "hook"]
    assert row["risk_level"] == "high"  # the higher reading stays


def test_post_tool_use_ends_the_call(hooks):
    run_hook(hook_env(hooks), bash("mkdir x", "toolu_5"))
    run_hook(hook_env(hooks), {"tool_use_id": "toolu_5"}, event="PostToolUse")
    row = {"rule": "claude_permission", "risk_level": "medium", "metadata": {"command": "x"}}
    hooks.join(row)
    assert "tool_use_id" not in row["metadata"]


@pytest.mark.parametrize(
    ("argv", "override", "kind"),
    [
        (["/opt/bin/claude", "hi"], None, "claude"),
        (["codex", "--no-daemon"], None, "codex"),
        (["node", "/x/claude-code/cli.js"], None, "generic"),
        (["aider", "--model", "m"], None, "aider"),
        (["python3", "agent.py"], None, "generic"),
        (["my-wrapper"], "claude", "claude"),
    ],
)
def test_agent_kind_by_name_or_option(argv, override, kind):
    assert agent_kind(argv, override) == kind


def test_hooks_are_installed_for_the_run_only():
    claude = hooked_argv("claude", ["claude", "Delete build"], 60)
    assert claude[0] == "claude" and claude[1] == "--settings" and claude[-1] == "Delete build"
    settings = json.loads(claude[2])["hooks"]
    handler = settings["PreToolUse"][0]["hooks"][0]
    assert settings["PreToolUse"][0]["matcher"] == "*" and set(settings) == {
        "PreToolUse",
        "PostToolUse",
    }
    assert (handler["timeout"], handler["onFailure"]) == (60, "block")
    assert "hook_client.py claude PreToolUse" in handler["command"]
    codex = hooked_argv("codex", ["codex", "-C", "p"], 60)
    assert codex[1] == "-c" and codex[2].startswith("hooks.PreToolUse=[{matcher")
    assert "--dangerously-bypass-hook-trust" in codex and codex[-2:] == ["-C", "p"]
    assert hooked_argv("aider", ["aider"], 60) == ["aider"]


def test_an_unreadable_message_is_denied(hooks):
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(hooks.path)
        sock.sendall(b"not json\n")
        reply = json.loads(sock.makefile().readline())
    assert reply["decision"] == "deny" and "unreadable" in reply["reason"]
    assert hooks.drain(line=1) == []


class Sink:
    """The writer's and publisher's side of PromptController, kept in lists."""

    session = None

    def __init__(self):
        self.states = []

    def add_state(self, state, metadata, at=None):
        self.states.append((state, metadata))

    def update_stats(self, **stats):
        pass

    def state(self, message, info=None):
        pass


def test_a_held_call_without_a_prompt_timeout_is_denied_when_the_hook_stops_waiting():
    from sessions.agent_hooks import HeldCall
    from sessions.approvals import PromptController

    sink = Sink()
    controller = PromptController(send_input=lambda data: None, writer=sink, publisher=sink,
                                  use_database=False)  # fmt: skip
    call = HeldCall()
    row = {"seq": 1, "rule": "hook_permission", "risk_level": "high",
           "metadata": {"command": "rm -rf build/"}}  # fmt: skip
    try:
        controller.on_resolvable_prompt(row, call.resolve, hold_seconds=0.5)
        controller.hand_over_states()
        assert call.done.wait(5)
    finally:
        controller.close()
    assert (call.decision, call.by) == ("deny", "timeout")
    answered = [m for state, m in sink.states if state == "prompt_answered"]
    assert [(a["outcome"], a["by"]) for a in answered] == [("deny", "timeout")]
