"""The real agent CLIs — Claude Code and Codex — wrapped by `tap`, talking to a mock model server.

`tests/agents/install_clis.sh` installs them from npm into `.cache/agents` (or
``$STREAMTAP_AGENTS_PREFIX``). The model is `tests/programs/mock_model_server.py` on 127.0.0.1:
its first answer asks to run a shell command, its second says "Done.". Each CLI then shows its
own permission prompt in a real PTY, streamtap finds it on the rendered screen, and the answer
(the dashboard API or `--auto-confirm low`) has to reach the CLI: the proof is the tool result
the CLI sends back to the mock model, and the command's effect on disk.

See docs/real-agents.md for what each CLI needs (config, flags) and what was observed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from extraction.engine import Extractor
from extraction.models import ExtractionEvent
from sessions.models import ProcessSession
from sessions.pipeline import Pipeline, replay_recording
from sessions.recording import iter_events, read_header
from sessions.screen import ScreenAnalyzer
from tests.agents.live import (
    claude_env,
    cli,
    codex_env,
    decide,
    project,
    prompt_event,
    run_claude,
    run_codex,
    staff_client,
    tool_results_then_finish,
    wait_for,
)
from tests.sessions.conftest import ROOT, tap_argv

FIXTURES = ROOT / "tests" / "fixtures" / "real_agents"
# The screen fallback on its own: without the hooks the tap installs for claude and codex.
SCREEN_ONLY = ("--agent-kind", "generic")


def replay(cast: Path) -> list[dict]:
    """The events a PTY tap derives from a recording, without a database."""
    header = read_header(cast)
    events: list[dict] = []
    screen = ScreenAnalyzer(header.get("width", 80), header.get("height", 24))
    pipeline = Pipeline(
        agent_name="replay",
        started_at=0.0,
        extractor=Extractor(),
        on_events=events.extend,
        screen=screen,
    )
    replay_recording(pipeline, iter_events(cast))
    return events


# ---- the mock model server on its own (fast) -------------------------------------------------


def _post(url: str, body: dict) -> tuple[str, str]:
    import urllib.request

    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers.get("Content-Type", ""), response.read().decode()


def _sse(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_mock_model_server_scripts_a_tool_call_then_a_reply(mock_model):
    # Anthropic Messages, streamed: a Bash tool_use first ...
    bash = {"name": "Bash", "input_schema": {"type": "object"}}
    first = {"model": "m", "stream": True, "tools": [bash], "messages": [{"role": "user", "content": "go"}]}  # fmt: skip
    kind, text = _post(mock_model.url + "/v1/messages?beta=true", first)
    events = _sse(text)
    assert kind == "text/event-stream"
    assert [e["type"] for e in events] == [
        "message_start", "content_block_start", "ping", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    block = events[1]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "Bash"
    assert json.loads(events[3]["delta"]["partial_json"])["command"] == "rm -rf build/"
    assert events[5]["delta"]["stop_reason"] == "tool_use"
    # ... and text once the tool result comes back.
    result = {"type": "tool_result", "tool_use_id": block["id"], "content": "ok"}
    second = {**first, "messages": [*first["messages"], {"role": "user", "content": [result]}]}
    events = _sse(_post(mock_model.url + "/v1/messages", second)[1])
    assert events[3]["delta"] == {"type": "text_delta", "text": "Done."}
    # Not streamed: one JSON message.
    kind, text = _post(mock_model.url + "/v1/messages", {**first, "stream": False})
    assert kind == "application/json" and json.loads(text)["content"][0]["type"] == "tool_use"

    # OpenAI Responses (Codex): an escalated exec_command call, then a message.
    tools = [{"type": "function", "name": "exec_command"}]
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}
    events = _sse(_post(mock_model.url + "/v1/responses", {"tools": tools, "input": [user]})[1])
    assert [e["type"] for e in events] == [
        "response.created", "response.output_item.added", "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    call = events[2]["item"]
    assert call["type"] == "function_call" and call["name"] == "exec_command"
    assert json.loads(call["arguments"]) == {
        "cmd": "rm -rf build/",
        "sandbox_permissions": "require_escalated",
        "justification": "Remove the build directory",
    }
    assert events[3]["response"]["usage"]["total_tokens"] == 129
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "removed"}
    body = {"tools": tools, "input": [user, call, output]}
    events = _sse(_post(mock_model.url + "/v1/responses", body)[1])
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert done[0]["content"][0]["text"] == "Done."

    assert mock_model.tool_results() == ["ok", "removed"]
    assert [r["path"] for r in mock_model.requests][-1] == "/v1/responses"
    assert all("authorization" not in r["headers"] for r in mock_model.requests)


# ---- recordings of the real TUIs, replayed (fast) --------------------------------------------


def test_codex_recording_yields_one_high_risk_codex_permission_prompt():
    events = replay(FIXTURES / "codex-0.171.0-permission.cast")
    prompts = [e for e in events if e["event_type"] == "prompt"]
    assert [(p["rule"], p["risk_level"]) for p in prompts] == [("codex_permission", "high")]
    meta = prompts[0]["metadata"]
    assert meta["command"] == "rm -rf build/"
    assert meta["approve_writes"] == ["y"]


def test_claude_recording_yields_a_high_risk_claude_permission_prompt():
    events = replay(FIXTURES / "claude-2.1.197-permission.cast")
    prompts = [e for e in events if e["event_type"] == "prompt"]
    assert (prompts[0]["rule"], prompts[0]["risk_level"]) == ("claude_permission", "high")
    meta = prompts[0]["metadata"]
    assert meta["command"] == "rm -rf build/"
    assert meta["approve_writes"] == ["1"]
    assert [o["label"] for o in meta["options"]][-1] == "No"


def test_claude_recording_yields_no_line_view_duplicates():
    events = replay(FIXTURES / "claude-2.1.197-permission.cast")
    assert [e["rule"] for e in events if e["event_type"] == "prompt"] == ["claude_permission"]


# What `codex exec` writes to stderr before its JSONL whenever its stdin is not a terminal.
CODEX_STDIN_NOTICE = "Reading additional input from stdin...\n"


def test_codex_exec_jsonl_after_its_stderr_notice_is_still_an_agent_stream():
    events: list[dict] = []
    pipeline = Pipeline(
        agent_name="codex", started_at=0.0, extractor=Extractor(), on_events=events.extend
    )
    jsonl = (ROOT / "tests" / "fixtures" / "agent_streams" / "codex_exec.jsonl").read_text()
    pipeline.feed(0.0, CODEX_STDIN_NOTICE)
    pipeline.feed(0.1, jsonl)
    pipeline.close()
    assert "agent_usage" in {e["rule"] for e in events}


PYTEST_PROMPT = FIXTURES / "claude-2.1.197-pytest-prompt.cast"


def _claude_pytest_prompt() -> dict:
    prompts = [e for e in replay(PYTEST_PROMPT) if e["event_type"] == "prompt"]
    assert prompts[0]["rule"] == "claude_permission"
    return prompts[0]


def test_claude_dont_ask_again_option_with_a_typographic_apostrophe_is_permanent():
    options = _claude_pytest_prompt()["metadata"]["options"]
    assert options[1]["label"] == "Yes, and don\u2019t ask again for: python3 *"
    assert [o["kind"] for o in options] == ["approve_once", "approve_always", "deny"]


def test_claude_command_excludes_the_description_line():
    prompt = _claude_pytest_prompt()
    assert prompt["metadata"]["command"] == "python3 -m pytest --version"
    assert prompt["risk_level"] == "low"


# ---- the real CLIs, live (slow) --------------------------------------------------------------


def approve_rm_rf_from_the_dashboard(tap, proj, mock_model, rule, key, shown, then=None) -> None:
    """The agent's own prompt for `rm -rf build/`, found on the screen (this rule, high risk,
    answered by ``key``, ``shown`` in its text), approved from the dashboard: nothing ran before
    the answer, the command ran after it, and the prompt and the session record who decided.
    ``then``: (condition, what) to wait for before the tap is finished."""
    client = staff_client()
    try:
        prompt = prompt_event(rule)
        assert prompt.risk_level == "high"
        assert prompt.metadata["command"] == "rm -rf build/"
        assert prompt.metadata["approve_writes"] == [key]
        assert shown in prompt.content
        assert (proj / "build").exists()  # nothing ran before the answer
        assert decide(client, prompt, "approve").status_code == 200
        wait_for(mock_model.tool_results, 20, "the agent to send the command's result")
        assert not (proj / "build").exists()
        if then:
            wait_for(then[0], 10, then[1])
    finally:
        tap.finish()
    prompt.refresh_from_db()
    assert (prompt.prompt_decision, prompt.prompt_decision_by) == ("approve", "dashboard:rita")
    session = ProcessSession.objects.get()
    answered = session.state_changes.filter(state="prompt_answered").first().metadata
    assert answered["by"] == "dashboard:rita" and answered["outcome"] == "approve"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_tui_prompt_approved_from_the_dashboard(tap_env, tmp_path, mock_model):
    proj, tap = run_codex(tap_env, tmp_path, mock_model, *SCREEN_ONLY)
    approve_rm_rf_from_the_dashboard(
        tap,
        proj,
        mock_model,
        "codex_permission",
        "y",
        "Reason: Remove the build directory",
        then=(lambda: len(mock_model.requests_to("/responses")) >= 3, "the final turn"),
    )
    session = ProcessSession.objects.get()
    assert session.state_changes.filter(state="prompt_answered").count() == 1
    assert session.events.filter(event_type="prompt").count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_tui_read_only_command_is_auto_confirmed(tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reason = "ls", "List the files"
    proj, tap = run_codex(
        tap_env, tmp_path, mock_model, *SCREEN_ONLY, "--auto-confirm", "low", ask="List files"
    )
    results = tool_results_then_finish(tap, mock_model, "Codex to run `ls` after auto-confirm")
    assert "README" in results[0] and "build" in results[0]
    prompt = ExtractionEvent.objects.get(event_type="prompt")
    assert (prompt.rule, prompt.risk_level, prompt.prompt_decision) == (
        "codex_permission",
        "low",
        "approve",
    )
    assert prompt.metadata["answer"] == {"by": "policy", "decision": "approve", "writes": ["y"]}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claude_code_prompt_approved_from_the_dashboard(tap_env, tmp_path, mock_model):
    proj, tap = run_claude(None, tap_env, tmp_path, mock_model, *SCREEN_ONLY)
    approve_rm_rf_from_the_dashboard(
        tap, proj, mock_model, "claude_permission", "1", "Do you want to proceed?"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claude_code_low_risk_command_is_auto_confirmed(tap_env, tmp_path, mock_model):
    # `ls` never reaches a prompt (Claude Code allows read-only commands itself); running the
    # tests does, and streamtap rates it low.
    mock_model.command, mock_model.reason = "python3 -m pytest --version", ""
    # Claude Code always shows a description under the command ("Run shell command" when the
    # model gave none): it is not part of the command, so the prompt is rated low.
    _, tap = run_claude(
        None,
        tap_env,
        tmp_path,
        mock_model,
        *SCREEN_ONLY,
        "--auto-confirm",
        "low",
        ask="Run the tests",
    )
    tool_results_then_finish(tap, mock_model, "Claude Code to run the tests after auto-confirm")
    prompt = ExtractionEvent.objects.filter(event_type="prompt", rule="claude_permission").get()
    assert prompt.risk_level == "low" and prompt.prompt_decision == "approve"
    assert prompt.metadata["command"].startswith("python3 -m pytest --version")
    assert prompt.metadata["answer"] == {"by": "policy", "decision": "approve", "writes": ["1"]}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_exec_json_through_a_pipe(tap_env, tmp_path, mock_model):
    codex = cli("codex")
    # exec mode cannot ask: stay inside the workspace sandbox. (`rm -rf` is refused outright
    # by Codex's own exec policy in this mode: "rm -f style commands are not permitted".)
    mock_model.escalate = False
    mock_model.command = "mkdir -p dist && echo built > dist/out.txt"
    proj = project(tmp_path)
    env = codex_env(tap_env, tmp_path, mock_model, proj)
    result = subprocess.run(
        tap_argv("--pipe", *SCREEN_ONLY, "--", codex, "exec", "--json", "--skip-git-repo-check", "-C", str(proj),
                 "Build it"),
        # An empty pipe, not /dev/null: the tap ignores a /dev/null stdin and then never closes
        # the child's, and `codex exec` reads its stdin to the end (docs/real-agents.md).
        env=env, cwd=proj, input=b"", capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    kinds = [json.loads(line)["type"] for line in result.stdout.decode().splitlines()]
    assert kinds[0] == "thread.started" and kinds[-1] == "turn.completed", result.stdout
    assert (proj / "dist" / "out.txt").read_text() == "built\n", mock_model.tool_results()
    assert b"Reading additional input from stdin" in result.stderr
    session = ProcessSession.objects.get()
    rules = list(session.events.values_list("rule", flat=True))
    command = session.events.filter(rule="agent_command").first()
    assert command is not None, rules
    assert "mkdir -p dist" in command.content and command.metadata["exit_code"] == 0
    assert "agent_usage" in rules, rules
    assert not session.events.filter(event_type="prompt").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claude_print_stream_json_through_a_pipe(tap_env, tmp_path, mock_model):
    claude = cli("claude")
    proj = project(tmp_path)
    env = claude_env(tap_env, tmp_path, mock_model, proj)
    argv = [claude, "-p", "Delete the build directory", "--output-format", "stream-json",
            "--verbose"]  # fmt: skip
    result = subprocess.run(
        tap_argv("--pipe", *SCREEN_ONLY, "--", *argv),
        env=env, cwd=proj, input=b"", capture_output=True, timeout=60,
    )  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]
    kinds = [(o["type"], o.get("subtype")) for o in lines]
    assert kinds[0] == ("system", "init") and kinds[-1][0] == "result", kinds
    # -p cannot ask: the Bash call is refused, the model is told, and says "Done.".
    assert (proj / "build").exists()
    session = ProcessSession.objects.get()
    rules = list(session.events.values_list("rule", flat=True))
    assert "agent_permission_denied" in rules, rules
    assert not session.events.filter(event_type="prompt").exists()


def test_fixture_recordings_hold_no_secrets():
    for cast in FIXTURES.glob("*.cast"):
        text = cast.read_text()
        assert "sk-ant-" not in text and "/tmp/" not in text, cast
