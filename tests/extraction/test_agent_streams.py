"""Agent JSONL streams (codex exec --json, claude -p stream-json) become events, not text."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from extraction.engine.agent_streams import AgentStreamParser, unwrap_shell
from extraction.engine.events import EVENT_TYPES, RISK_LEVELS, SEVERITIES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "agent_streams"


def parse_fixture(name: str) -> list:
    parser = AgentStreamParser()
    events = []
    for line_no, line in enumerate((FIXTURES / name).read_text().splitlines(), 1):
        result = parser.parse_line(line, line_no)
        assert result is not None, f"line {line_no} of {name} was not recognised"
        events += result
    return events + parser.close()


def by_rule(events: list, rule: str) -> list:
    return [e for e in events if e.rule == rule]


def metrics(events: list) -> dict:
    return {e.metadata["name"]: e.metadata["value"] for e in events if e.event_type == "metric"}


@pytest.mark.parametrize("name", ["codex_exec.jsonl", "claude_stream.jsonl"])
def test_every_event_is_well_formed(name):
    for event in parse_fixture(name):
        assert event.event_type in EVENT_TYPES
        assert event.severity in SEVERITIES
        assert event.risk_level in RISK_LEVELS
        assert event.auto_confirmable is False
        assert event.line_start == event.line_end >= 1
        assert event.content
        json.dumps(asdict(event))


# ---- codex exec --json ----


def test_codex_failed_command_is_an_error_with_exit_code_and_output_tail():
    events = parse_fixture("codex_exec.jsonl")
    (failed,) = by_rule(events, "agent_command_failed")
    assert failed.event_type == "error" and failed.severity == "error"
    assert failed.metadata["command"] == "pytest -q"
    assert failed.metadata["exit_code"] == 1
    assert failed.line_start == 7
    assert failed.content.startswith("$ pytest -q\n")
    assert "1 failed, 1 passed" in failed.content


def test_codex_read_only_commands_are_counted_not_reported_one_by_one():
    events = parse_fixture("codex_exec.jsonl")
    assert not any(e.metadata.get("command") == "ls -la" for e in events)
    (summary,) = by_rule(events, "agent_commands")
    assert summary.metadata["value"] == 4
    assert summary.metadata["failed"] == 1
    assert summary.metadata["commands"] == [
        "ls -la",
        "pytest -q",
        "pytest -q",
        "pip install -q requests",
    ]
    assert summary.line_start == 14


def test_codex_command_that_changes_something_is_its_own_metric():
    (install,) = by_rule(parse_fixture("codex_exec.jsonl"), "agent_command")
    assert install.metadata["command"] == "pip install -q requests"
    assert (install.metadata["name"], install.metadata["value"]) == ("command_exit_code", 0)
    assert install.risk_level == "medium"


def test_codex_declined_command_is_a_permission_denial_with_its_risk():
    (denied,) = by_rule(parse_fixture("codex_exec.jsonl"), "agent_permission_denied")
    assert denied.event_type == "warning"
    assert denied.metadata["command"] == "rm -rf build/"
    assert denied.risk_level == "high"


def test_codex_file_change_mcp_failure_and_code_block():
    events = parse_fixture("codex_exec.jsonl")
    (change,) = by_rule(events, "agent_file_change")
    assert change.metadata["files"] == [{"path": "app.py", "kind": "update"}]
    assert (change.metadata["name"], change.metadata["value"]) == ("files_changed", 1)
    (tool,) = by_rule(events, "agent_tool_failed")
    assert tool.metadata["tool"] == "docs.search"
    (block,) = by_rule(events, "agent_code_block")
    assert (block.content, block.metadata["language"]) == ("pytest -q", "sh")


def test_codex_usage_becomes_token_metrics():
    usage = [e for e in parse_fixture("codex_exec.jsonl") if e.rule == "agent_usage"]
    assert {e.metadata["name"]: (e.metadata["value"], e.metadata["unit"]) for e in usage} == {
        "tokens_input": (24763, "tokens"),
        "tokens_cached_input": (24448, "tokens"),
        "tokens_output": (1122, "tokens"),
    }


def test_codex_errors_retries_and_failed_turn():
    events = parse_fixture("codex_exec.jsonl")
    assert [e.content for e in by_rule(events, "agent_retry")] == ["Reconnecting... 1/5"]
    (error,) = by_rule(events, "agent_error")
    assert error.content.startswith("stream disconnected")
    # The failed turn repeats that error: not a second event.
    assert by_rule(events, "agent_turn_failed") == []


def test_codex_turn_failed_with_a_new_message_is_an_error():
    parser = AgentStreamParser()
    parser.parse_line('{"type":"thread.started","thread_id":"t"}', 1)
    (event,) = parser.parse_line(
        '{"type":"turn.failed","error":{"message":"usage limit reached"}}', 2
    )
    assert (event.event_type, event.rule, event.content) == (
        "error",
        "agent_turn_failed",
        "usage limit reached",
    )


def test_codex_command_without_exit_code_but_failed_status_is_an_error():
    parser = AgentStreamParser()
    line = json.dumps({"type": "item.completed", "item": {"type": "command_execution",
                       "command": "bash -lc 'make'", "status": "failed", "exit_code": None}})  # fmt: skip
    (event,) = parser.parse_line(line, 3)
    assert event.rule == "agent_command_failed" and event.metadata["exit_code"] == -1


# ---- claude -p --output-format stream-json ----


def test_claude_failed_bash_is_an_error_with_exit_code():
    (failed,) = by_rule(parse_fixture("claude_stream.jsonl"), "agent_command_failed")
    assert failed.metadata["command"] == "python -m pytest -q"
    assert failed.metadata["exit_code"] == 1
    assert "Exit code" not in failed.content
    assert "AssertionError" in failed.content


def test_claude_permission_denials_are_reported_once_each():
    events = parse_fixture("claude_stream.jsonl")
    denied = by_rule(events, "agent_permission_denied")
    assert [(e.metadata["tool"], e.metadata["command"], e.metadata["file"]) for e in denied] == [
        ("Bash", "rm -rf build/ dist/", None),
        ("Write", None, "/etc/shop.conf"),
    ]
    # rm -rf, and a write outside the working directory from system/init's cwd.
    assert [e.risk_level for e in denied] == ["high", "high"]
    # The denied Write's error tool_result and the result's permission_denials add nothing.
    assert by_rule(events, "agent_tool_failed") == []


def test_claude_edit_is_a_file_change_and_text_code_blocks_are_kept():
    events = parse_fixture("claude_stream.jsonl")
    (change,) = by_rule(events, "agent_file_change")
    assert change.metadata["files"] == [{"path": "/home/dev/shop/cart.py", "kind": "update"}]
    assert change.metadata["tool"] == "Edit"
    assert change.risk_level == "low"
    (block,) = by_rule(events, "agent_code_block")
    assert (block.content, block.metadata["language"]) == ("VAT_RATE = 0.20", "python")


def test_claude_result_gives_cost_tokens_duration_and_turns():
    values = metrics(parse_fixture("claude_stream.jsonl"))
    assert values["cost_usd"] == pytest.approx(0.0489213)
    assert values["tokens_input"] == 40 + 4120 + 99664
    assert values["tokens_cached_input"] == 99664
    assert values["tokens_output"] == 587
    assert values["duration_seconds"] == pytest.approx(21.874)
    assert values["turns"] == 9
    assert values["commands_run"] == 3
    (cost,) = [
        e for e in parse_fixture("claude_stream.jsonl") if e.metadata.get("name") == "cost_usd"
    ]
    assert cost.metadata["unit"] == "USD"


def test_claude_error_result_is_an_error():
    parser = AgentStreamParser()
    line = json.dumps({"type": "result", "subtype": "error_max_turns", "is_error": True, "num_turns": 30,
                       "session_id": "s", "total_cost_usd": 1.5})  # fmt: skip
    events = parser.parse_line(line, 9)
    (error,) = [e for e in events if e.event_type == "error"]
    assert error.rule == "agent_result_error"
    assert error.metadata["subtype"] == "error_max_turns"
    assert metrics(events)["cost_usd"] == 1.5


def test_destructive_command_that_ran_is_high_risk():
    parser = AgentStreamParser()
    parser.parse_line(json.dumps({"type": "assistant", "session_id": "s", "message": {"content": [
        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "git push --force origin main"}}]}}), 1)  # fmt: skip
    (event,) = parser.parse_line(json.dumps({"type": "user", "session_id": "s", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "", "is_error": False}]}}), 2)  # fmt: skip
    assert (event.rule, event.risk_level) == ("agent_command", "high")


def test_secrets_in_commands_are_redacted():
    parser = AgentStreamParser()
    line = json.dumps({"type": "item.completed", "item": {"type": "command_execution", "status": "failed",
        "command": "curl -H 'Authorization: Bearer sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789' https://x.test",
        "exit_code": 7, "aggregated_output": "curl: (7) Failed to connect"}})  # fmt: skip
    (event,) = parser.parse_line(line, 1)
    assert "abcdefghijklmnopqrstuvwxyz0123456789" not in event.content
    assert "abcdefghijklmnopqrstuvwxyz0123456789" not in event.metadata["command"]


# ---- what is not agent JSON ----


@pytest.mark.parametrize(
    "line",
    [
        "plain text",
        '  {"type": "system"}',
        '{"level": "info", "msg": "no type key"}',
        '{"type": "click", "x": 3}',
        '{"type": "error", "code": 500, "message": "a web server log line"}',
        '{"type": "user", "name": "olivia"}',
        '{"type": "system", broken json',
        '["type", 1]',
    ],
)
def test_other_lines_are_left_to_the_text_rules(line):
    assert AgentStreamParser().parse_line(line, 1) is None


def test_quiet_agent_lines_give_no_events_but_are_consumed():
    parser = AgentStreamParser()
    assert parser.parse_line('{"type":"thread.started","thread_id":"t"}', 1) == []
    assert parser.parse_line('{"type":"turn.started"}', 2) == []
    assert (
        parser.parse_line('{"type":"item.completed","item":{"type":"reasoning","text":"hm"}}', 3)
        == []
    )


def test_unfinished_turn_commands_are_counted_at_close():
    parser = AgentStreamParser()
    parser.parse_line(json.dumps({"type": "item.completed", "item": {"type": "command_execution",
                      "command": "ls", "exit_code": 0, "status": "completed"}}), 1)  # fmt: skip
    (summary,) = parser.close()
    assert summary.metadata["value"] == 1
    assert parser.close() == []


def test_unwrap_shell():
    # Each command as an agent reports it: the command its shell wrapper runs, or itself.
    inner = {
        "bash -lc 'ls -la'": "ls -la",
        '/bin/bash -lc "pytest -q"': "pytest -q",
        "zsh -c 'git status'": "git status",
        "ls -la": "ls -la",
    }
    assert {command: unwrap_shell(command) for command in inner} == inner


# ---- denials whose tool input is not on the denial line (issue 14 item 3) ----

REAL_AGENTS = FIXTURES.parent / "real_agents"


def test_claude_2_1_332_denial_takes_its_command_from_the_earlier_tool_use():
    # Recorded from the real `claude -p --output-format stream-json --verbose
    # --permission-mode manual` 2.1.332 against tests/programs/mock_model_server.py: its
    # system/permission_denied names the tool_use_id only, no tool_input.
    parser = AgentStreamParser()
    lines = (REAL_AGENTS / "claude-2.1.332-print-denied.jsonl").read_text().splitlines()
    denial_line = next(json.loads(ln) for ln in lines if '"permission_denied"' in ln)
    assert "tool_input" not in denial_line
    events = [e for n, ln in enumerate(lines, 1) for e in parser.parse_line(ln, n)]
    (denied,) = by_rule(events, "agent_permission_denied")
    assert (denied.metadata["tool"], denied.metadata["command"]) == ("Bash", "rm -rf build/")
    assert denied.risk_level == "high"
    assert denied.metadata["tool_use_id"] == denial_line["tool_use_id"]


def test_denial_of_a_call_never_seen_is_high_risk_with_no_command():
    parser = AgentStreamParser()
    line = {"type": "system", "subtype": "permission_denied", "tool_name": "Bash",
            "tool_use_id": "toolu_unseen", "session_id": "s"}  # fmt: skip
    (denied,) = parser.parse_line(json.dumps(line), 1)
    assert denied.metadata["command"] is None and denied.risk_level == "high"


def test_denial_after_the_tool_result_still_finds_the_command():
    # The result's permission_denials come after the tool_result that ended the call.
    parser = AgentStreamParser()
    use = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "git push -f"}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "needs approval", "is_error": True}  # fmt: skip
    final = {"type": "result", "subtype": "success", "session_id": "s",
             "permission_denials": [{"tool_name": "Bash", "tool_use_id": "t1"}]}  # fmt: skip
    events = []
    for n, obj in enumerate([{"type": "assistant", "session_id": "s", "message": {"content": [use]}},
                             {"type": "user", "session_id": "s", "message": {"content": [result]}},
                             final], 1):  # fmt: skip
        events += parser.parse_line(json.dumps(obj), n)
    (denied,) = by_rule(events, "agent_permission_denied")
    assert (denied.metadata["command"], denied.risk_level) == ("git push -f", "high")
