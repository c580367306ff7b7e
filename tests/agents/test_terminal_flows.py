"""The matrix's terminal flows: Esc typed at the agent's own prompt, and the first run's dialog.

A medium-risk command gets no opinion from the hook (the tap holds only high risk and what the
policy covers), so the agent shows its own prompt; the screen reports it, joined with the
hook's call (its ``tool_use_id`` and exact command): ONE prompt event. Esc there is a denial.
The first run in an untrusted folder stops at the agent's trust dialog: a low-risk prompt that
``--auto-confirm low`` answers.
"""

from __future__ import annotations

import subprocess

import pytest

from extraction.models import ExtractionEvent
from tests.agents.live import (
    Tap,
    aider_argv,
    aider_env,
    claude_env,
    cli,
    codex_env,
    project,
    run_claude,
    run_codex,
    wait_for,
)
from tests.agents.versions import CLAUDE_CODE_VERSIONS

MEDIUM = "mkdir -p dist && touch dist/app"  # not read-only, not destructive


def screen_prompt(timeout: float = 30.0) -> ExtractionEvent:
    return wait_for(
        lambda: ExtractionEvent.objects.filter(event_type="prompt")
        .exclude(rule="hook_permission")
        .order_by("seq")
        .first(),
        timeout,
        "the agent's own prompt on the screen",
    )


def decided(prompt: ExtractionEvent, timeout: float = 15.0) -> ExtractionEvent:
    def check():
        prompt.refresh_from_db()
        return prompt.prompt_decision and prompt

    return wait_for(check, timeout, f"a decision on prompt #{prompt.seq}")


def type_keys(tap: Tap, data: bytes) -> None:
    tap.proc.stdin.write(data)
    tap.proc.stdin.flush()


def deny_with_esc(tap: Tap) -> ExtractionEvent:
    """Esc typed at the agent's own prompt, as a person would; the prompt once decided."""
    try:
        prompt = screen_prompt()
        type_keys(tap, b"\x1b")
        return decided(prompt)
    finally:
        tap.finish()


def assert_one_denied_prompt(prompt: ExtractionEvent, proj, hooked: bool) -> None:
    assert (prompt.prompt_decision, prompt.prompt_decision_by) == ("deny", "terminal")
    assert ExtractionEvent.objects.filter(event_type="prompt").count() == 1
    if hooked:
        assert prompt.metadata["tool_use_id"] and prompt.metadata["sources"] == ["screen", "hook"]
        assert prompt.metadata["command"] == MEDIUM
    assert not (proj / "dist").exists()


@pytest.mark.parametrize("version", CLAUDE_CODE_VERSIONS)
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claude_esc_at_its_prompt_is_a_denial(version, tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reason = MEDIUM, "Make the dist directory"
    # manual: Claude's own prompt for a medium call (2.1.332's "auto" may allow it unasked).
    proj, tap = run_claude(
        version,
        tap_env,
        tmp_path,
        mock_model,
        claude_args=("--permission-mode", "default"),
        ask="Make dist",
    )
    assert_one_denied_prompt(deny_with_esc(tap), proj, hooked=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_esc_at_its_prompt_is_a_denial(tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reason = MEDIUM, "Make the dist directory"
    proj, tap = run_codex(tap_env, tmp_path, mock_model, ask="Make dist")
    assert_one_denied_prompt(deny_with_esc(tap), proj, hooked=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_aider_no_at_its_prompt_is_a_denial(tap_env, tmp_path, mock_model):
    # aider has no Esc answer (prompt_toolkit ignores it) and reads Ctrl-D as its default, Yes.
    mock_model.command = MEDIUM
    proj = project(tmp_path)
    env = aider_env(tap_env, tmp_path, mock_model)
    tap = Tap(env, proj, "--pty", "--", *aider_argv(cli("aider"), "Make dist"))
    try:
        prompt = screen_prompt(40)
        type_keys(tap, b"n\r")
        prompt = decided(prompt)
    finally:
        tap.finish(ctrl_d=False)
    assert_one_denied_prompt(prompt, proj, hooked=False)


def assert_trust_dialog_answered_by_policy(tap: Tap, model_asked) -> None:
    """The dialog is a low-risk prompt; --auto-confirm low answers it; the agent goes on."""
    try:
        prompt = screen_prompt()
        wait_for(model_asked, 20, "the agent past its trust dialog")
    finally:
        tap.finish()
    assert "trust" in prompt.content.lower() and prompt.risk_level == "low"
    assert prompt.prompt_decision == "approve"


@pytest.mark.parametrize("version", CLAUDE_CODE_VERSIONS)
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claude_first_run_trust_dialog_is_a_low_risk_prompt(version, tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reply = None, "Hello."
    proj = project(tmp_path)
    env = claude_env(tap_env, tmp_path, mock_model, proj, version, trusted=False)
    tap = Tap(env, proj, "--pty", "--auto-confirm", "low", "--", cli("claude", version), "Hi")
    assert_trust_dialog_answered_by_policy(tap, lambda: mock_model.requests_to("/messages"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_first_run_trust_dialog_is_a_low_risk_prompt(tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reply = None, "Hello."
    proj = project(tmp_path)
    # Codex 0.171 asks to trust a folder that is a git repository (its trust is per repo).
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    env = codex_env(tap_env, tmp_path, mock_model, proj, trusted=False)
    tap = Tap(env, proj, "--pty", "--auto-confirm", "low", "--", cli("codex"), "--no-daemon",
              "-C", str(proj), "Hi")  # fmt: skip
    assert_trust_dialog_answered_by_policy(tap, lambda: mock_model.requests_to("/responses"))
