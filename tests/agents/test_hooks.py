"""Claude Code under `tap` with streamtap's hooks: the tool call, exactly, decided by the tap.

Every Claude Code version of the matrix (tests/agents/versions.py), live against the mock model.
The tap recognises `claude` by name and passes `--settings` with a PreToolUse/PostToolUse hook
(sessions/hook_client.py) for this run only; the project's and the user's settings files are
never written.
"""

from __future__ import annotations

import pytest

from extraction.models import ExtractionEvent
from sessions.models import ProcessSession
from tests.agents import live
from tests.agents.versions import CLAUDE_CODE_VERSIONS

each_claude = pytest.mark.parametrize("version", CLAUDE_CODE_VERSIONS)
PERMISSION_MODE = {"2.1.197": "default", "2.1.332": "auto"}  # with no --permission-mode


def the_prompt(rule: str, risk: str, decision: str) -> ExtractionEvent:
    """The session's one prompt event, with the rule, risk and decision expected."""
    prompt = ExtractionEvent.objects.get(event_type="prompt")
    assert (prompt.rule, prompt.risk_level, prompt.prompt_decision) == (rule, risk, decision)
    return prompt


def answered(session: ProcessSession) -> list[dict]:
    return [s.metadata for s in session.state_changes.filter(state="prompt_answered")]


@pytest.mark.parametrize("decision", ["approve", "deny"])
@each_claude
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rm_rf_is_held_by_the_hook_until_the_dashboard_decides(
    version, decision, tap_env, tmp_path, mock_model
):
    # No --permission-mode: Claude's own default ("auto" in 2.1.332 runs rm -rf unasked).
    proj, tap = live.run_claude(version, tap_env, tmp_path, mock_model)
    client = live.staff_client()
    try:
        prompt = live.prompt_event("hook_permission")
        assert (prompt.risk_level, prompt.metadata["command"]) == ("high", "rm -rf build/")
        assert prompt.metadata["source"] == "hook" and prompt.metadata["tool"] == "Bash"
        assert prompt.metadata["tool_use_id"].startswith("toolu_")
        # 2.1.332 runs in its new default, "auto", where it would have run rm -rf unasked.
        assert prompt.metadata["permission_mode"] == PERMISSION_MODE[version]
        assert (proj / "build").exists()  # held: nothing ran before the decision
        assert live.decide(client, prompt, decision).status_code == 200
        results = live.wait_for(mock_model.tool_results, 20, "Claude to send the tool's result")
    finally:
        tap.finish()
    assert (proj / "build").exists() == (decision == "deny")
    if decision == "deny":
        assert "denied by dashboard:rita" in results[0]
    session = ProcessSession.objects.get()
    assert session.events.filter(event_type="prompt").count() == 1
    outcome = "approve" if decision == "approve" else "deny"
    assert [(a["outcome"], a["by"]) for a in answered(session)] == [(outcome, "dashboard:rita")]
    assert not (proj / ".claude").exists()  # no settings file was written
    channels = session.state_changes.get(state="agent_channels").metadata
    assert channels["hooks"].startswith("--settings") and channels["transcript"] == "claude"


@each_claude
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_auto_confirm_medium_never_runs_rm_rf(version, tap_env, tmp_path, mock_model):
    proj, tap = live.run_claude(
        version, tap_env, tmp_path, mock_model, "--auto-confirm", "medium", "--prompt-timeout", "2"
    )
    results = live.tool_results_then_finish(tap, mock_model, "Claude to get the denial")
    assert (proj / "build").exists()
    assert "denied by timeout" in results[0]
    prompt = the_prompt("hook_permission", "high", "deny")
    assert prompt.metadata["command"] == "rm -rf build/"
    assert prompt.prompt_decision_by == "timeout"


@each_claude
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_auto_confirm_low_allows_the_tests_through_the_hook(version, tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reason = "python3 -m pytest --version", "Run the tests"
    proj, tap = live.run_claude(
        version, tap_env, tmp_path, mock_model, "--auto-confirm", "low", ask="Run the tests"
    )
    results = live.tool_results_then_finish(tap, mock_model, "Claude to run the tests")
    assert "pytest" in results[0]
    prompt = the_prompt("hook_permission", "low", "approve")
    assert prompt.metadata["command"] == "python3 -m pytest --version"
    assert prompt.metadata["answer"]["by"] == "policy"


# ---- Codex -----------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["approve", "deny"])
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_rm_rf_is_held_by_the_hook_until_the_dashboard_decides(
    decision, tap_env, tmp_path, mock_model
):
    client = live.staff_client()
    proj, tap = live.run_codex(tap_env, tmp_path, mock_model)
    try:
        prompt = live.prompt_event("hook_permission")
        assert (prompt.risk_level, prompt.metadata["command"]) == ("high", "rm -rf build/")
        assert prompt.metadata["source"] == "hook" and prompt.metadata["agent"] == "codex"
        assert (proj / "build").exists()
        assert live.decide(client, prompt, decision).status_code == 200
        results = live.wait_for(mock_model.tool_results, 20, "Codex to send the tool's result")
    finally:
        tap.finish()
    session = ProcessSession.objects.get()
    assert (proj / "build").exists() == (decision == "deny")
    if decision == "deny":
        assert "blocked by PreToolUse hook" in results[0]
    assert session.events.filter(event_type="prompt").count() == 1
    outcome = "approve" if decision == "approve" else "deny"
    assert [(a["outcome"], a["by"]) for a in answered(session)] == [(outcome, "dashboard:rita")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_auto_confirm_medium_never_runs_rm_rf(tap_env, tmp_path, mock_model):
    proj, tap = live.run_codex(
        tap_env, tmp_path, mock_model, "--auto-confirm", "medium", "--prompt-timeout", "2"
    )
    results = live.tool_results_then_finish(tap, mock_model, "Codex to get the denial")
    assert (proj / "build").exists()
    assert "blocked by PreToolUse hook" in results[0]
    prompt = the_prompt("hook_permission", "high", "deny")
    assert prompt.prompt_decision_by == "timeout"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_auto_confirm_low_answers_its_own_prompt_once(tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reason = "ls", "List the files"
    proj, tap = live.run_codex(tap_env, tmp_path, mock_model, "--auto-confirm", "low", ask="List")
    results = live.tool_results_then_finish(tap, mock_model, "Codex to run `ls`")
    assert "README" in results[0]
    # The policy approved it through the hook; Codex still asked on its screen (it refuses a
    # hook's "allow"), and the tap gave its prompt the same answer: one prompt event.
    assert the_prompt("hook_permission", "low", "approve").metadata["command"] == "ls"
    session = ProcessSession.objects.get()
    again = session.state_changes.filter(state="prompt_answered_again")
    assert [s.metadata["by"] for s in again] in ([], ["policy"])
