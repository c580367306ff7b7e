"""aider under `tap`: no hooks, so its line prompt and its chat history are the channels.

aider 0.86.2 (PyPI aider-chat, a venv of its own under .cache/agents) talks Chat Completions
to the mock model, which answers with a ```bash block; aider asks
"Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]:" and the tap sees that question once.
"""

from __future__ import annotations

import pytest

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession
from tests.agents.live import (
    Tap,
    aider_argv,
    aider_env,
    cli,
    decide,
    project,
    prompt_event,
    staff_client,
    wait_for,
)


def any_prompt(timeout: float = 40.0) -> ExtractionEvent:
    """The question's prompt event (the first; it must be the only one), once waited at."""
    return prompt_event(None, timeout)


def start(tap_env, tmp_path, mock_model, *tap_args, message="Delete the build directory"):
    proj = project(tmp_path)
    env = aider_env(tap_env, tmp_path, mock_model)
    return proj, Tap(env, proj, "--pty", *tap_args, "--", *aider_argv(cli("aider"), message))


@pytest.mark.parametrize("decision", ["approve", "deny"])
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_aider_shell_command_decided_from_the_dashboard(decision, tap_env, tmp_path, mock_model):
    proj, tap = start(tap_env, tmp_path, mock_model)
    client = staff_client()
    try:
        prompt = any_prompt()
        assert prompt.risk_level == "high" and prompt.metadata["command"] == "rm -rf build/"
        assert (proj / "build").exists()
        assert decide(client, prompt, decision).status_code == 200
        if decision == "approve":
            wait_for(lambda: not (proj / "build").exists(), 20, "aider to run rm -rf build/")
        else:
            wait_for(
                lambda: ProcessSession.objects.filter(state_changes__state="prompt_answered"),
                20,
                "the denial",
            )
    finally:
        tap.finish(ctrl_d=False)
    assert (proj / "build").exists() == (decision == "deny")
    session = ProcessSession.objects.get()
    first = session.events.filter(event_type="prompt").order_by("seq").first()
    assert first.pk == prompt.pk  # one prompt event for the question


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_aider_auto_confirm_medium_never_runs_rm_rf(tap_env, tmp_path, mock_model):
    proj, tap = start(tap_env, tmp_path, mock_model, "--auto-confirm", "medium")
    try:
        prompt = any_prompt()
        assert prompt.risk_level == "high"
    finally:
        tap.finish(ctrl_d=False)
    assert (proj / "build").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_aider_auto_confirm_low_runs_ls(tap_env, tmp_path, mock_model):
    mock_model.command = "ls"
    proj, tap = start(tap_env, tmp_path, mock_model, "--auto-confirm", "low", message="List")
    try:
        prompt = wait_for(
            lambda: ExtractionEvent.objects.filter(event_type="prompt", prompt_decision="approve")
            .order_by("seq")
            .first(),
            40,
            "the policy to approve aider's prompt",
        )
    finally:
        tap.finish()
    assert (prompt.risk_level, prompt.metadata["command"]) == ("low", "ls")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_aider_code_answer_given_twice_is_one_code_block(tap_env, tmp_path, mock_model):
    code = "def greet(name):\n    return f'hello {name}'"
    mock_model.command, mock_model.reply = None, f"Here:\n\n```python\n{code}\n```\n"
    env = aider_env(tap_env, tmp_path, mock_model)
    proj = project(tmp_path)
    for n in (1, 2):
        tap = Tap(env, proj, "--pty", "--agent-kind", "aider", "--",
                  *aider_argv(cli("aider"), "Write greet"))  # fmt: skip
        try:
            wait_for(
                lambda n=n: ExtractionEvent.objects.filter(
                    event_type="code_block", metadata__source="transcript"
                ).count()
                >= n,
                40,
                f"run {n}'s code block from .aider.chat.history.md",
            )
        finally:
            tap.finish()
    block = CodeBlock.objects.get(content=code)
    assert (block.occurrences, block.language) == (2, "python")
