"""Who answers a waiting program, and how: issue 14 items 3-5 and issue 15 row 2, live.

Real taps in a real PTY, real programs waiting at real prompts, the real review API and admin:
- triage (confirmed / rejected / false positive) never types into a program; only an explicit
  approve or deny does;
- keys typed at the terminal are read against the prompt (Esc denies, never approves);
- a decision on a superseded or answered prompt is refused with 409, and `prompts/pending`
  lists only the question the program is waiting at;
- `--auto-confirm medium` never answers a prompt whose command cannot be read.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from extraction.models import ExtractionEvent
from sessions.approvals import POLL_SECONDS
from sessions.models import ProcessSession

from .conftest import py
from .helpers import run_pty_tap
from .test_approvals import decide, fake_tui, staff_client, start_pty_tap, wait_for, waiting_prompt

pytestmark = pytest.mark.django_db(transaction=True)

# Keys go to a program one keystroke at a time, as a person types them: a TUI reads a burst
# as one paste (and Esc followed by more bytes as an escape sequence).
KEYSTROKE_GAP = 0.2


def type_keys(proc: subprocess.Popen, *keys: bytes) -> None:
    for key in keys:
        proc.stdin.write(key)
        proc.stdin.flush()
        time.sleep(KEYSTROKE_GAP)


def finish(proc: subprocess.Popen) -> bytes:
    # wait(), not communicate(): closing stdin would type ^D into the program.
    proc.wait(timeout=30)
    return proc.stdout.read()


def answered(prompt: ExtractionEvent) -> dict:
    return prompt.session.state_changes.get(state="prompt_answered").metadata


# ---- triage is not a decision (issue 15 row 2) ----


def test_confirming_a_waiting_prompt_in_the_review_api_types_nothing(tap_env):
    client = staff_client()
    proc = start_pty_tap(tap_env, "--", *fake_tui("claude", "rm -rf build/"))
    try:
        prompt = waiting_prompt()
        review = reverse("st-api-extraction-review", args=[prompt.pk])
        assert client.post(review, {"decision": "confirmed"}, format="json").status_code == 200
        # The window in which the tap used to pick the review up as an approval and type "1".
        time.sleep(POLL_SECONDS * 4)
        assert proc.poll() is None, "the program was answered by triage"
        # The explicit decision still answers it, and it is a deny: the program says DENIED.
        assert decide(client, prompt, "deny").status_code == 200
        out = finish(proc)
    finally:
        proc.kill()
    assert b"DENIED" in out and b"APPROVED" not in out
    prompt.refresh_from_db()
    assert (prompt.review_status, prompt.prompt_decision) == ("confirmed", "deny")
    assert prompt.prompt_decision_by == "dashboard:rita"
    audit = prompt.session.state_changes.filter(state__in=["event_review", "prompt_decision"])
    assert [(c.state, c.metadata.get("review_status") or c.metadata["decision"]) for c in audit.order_by("id")] == [
        ("event_review", "confirmed"),
        ("prompt_decision", "deny"),
    ]  # fmt: skip


def test_confirming_a_waiting_prompt_with_the_admin_bulk_action_types_nothing(tap_env):
    admin_user = get_user_model().objects.create_superuser("ada", password="pw")
    browser = Client()
    browser.force_login(admin_user)
    proc = start_pty_tap(tap_env, "--", *fake_tui("codex", "rm -rf build/"))
    try:
        prompt = waiting_prompt()
        changelist = reverse("admin:extraction_extractionevent_changelist")
        response = browser.post(
            changelist, {"action": "mark_confirmed", "_selected_action": [prompt.pk]}
        )
        assert response.status_code == 302
        time.sleep(POLL_SECONDS * 4)
        assert proc.poll() is None, "the program was answered by the bulk action"
        assert decide(staff_client(), prompt, "approve").status_code == 200
        out = finish(proc)
    finally:
        proc.kill()
    assert b"APPROVED" in out
    prompt.refresh_from_db()
    assert prompt.review_status == "confirmed" and prompt.reviewed_by == admin_user
    assert prompt.prompt_decision == "approve" and prompt.prompt_decided_by.username == "rita"
    assert prompt.session.state_changes.filter(state="event_review").count() == 1
    # The admin shows both: triage and the decision, each with who and when.
    page = browser.get(reverse("admin:extraction_extractionevent_change", args=[prompt.pk]))
    assert b"Prompt decision" in page.content and b"dashboard:rita" in page.content


# ---- answers at the terminal are classified (issue 14 item 4) ----


@pytest.mark.parametrize(
    ("style", "keys", "printed", "outcome"),
    [
        ("claude", [b"\x1b"], b"DENIED", "deny"),
        ("claude", [b"\x1b[B", b"\x1b[B", b"\x1b[B", b"\r"], b"DENIED", "deny"),
        ("claude", [b"1"], b"APPROVED", "approve"),
        ("codex", [b"\x1b"], b"DENIED", "deny"),
        ("aider", [b"n", b"\r"], b"DENIED", "deny"),
        ("aider", [b"\r"], b"APPROVED", "approve"),  # aider's default is [Yes]
    ],
)
def test_keys_typed_at_the_terminal_are_recorded_as_what_they_answered(
    tap_env, style, keys, printed, outcome
):
    proc = start_pty_tap(tap_env, "--", *fake_tui(style, "rm -rf build/"))
    try:
        prompt = waiting_prompt()
        type_keys(proc, *keys)
        out = finish(proc)
    finally:
        proc.kill()
    assert printed in out.splitlines()[-1]
    prompt.refresh_from_db()
    assert (prompt.prompt_decision, prompt.prompt_decision_by) == (outcome, "terminal")
    assert answered(prompt)["outcome"] == outcome
    assert prompt.review_status == "pending"  # the terminal answered; nobody triaged
    # One question, one prompt event, whichever detectors saw it.
    assert prompt.session.events.filter(event_type="prompt").count() == 1


# ---- one question, one event; late decisions refused (issue 14 item 5) ----

TWO_QUESTIONS = (
    "import sys, time\n"
    "sys.stdout.write('Delete the cache? [y/N] '); sys.stdout.flush(); time.sleep(1.5)\n"
    "a = input('\\nDelete the logs too? [y/N] '); print('answer:', repr(a))"
)


def test_a_decision_on_a_superseded_prompt_is_refused_and_pending_lists_the_new_one(tap_env):
    client = staff_client()
    proc = start_pty_tap(tap_env, "--", *py(TWO_QUESTIONS))
    try:
        second = wait_for(
            lambda: ExtractionEvent.objects.filter(
                event_type="prompt", content__contains="logs"
            ).first()
        )
        first = ExtractionEvent.objects.get(event_type="prompt", content__contains="cache")
        session = first.session
        pending_url = f"/api/sessions/{session.session_id}/prompts/pending"
        waiting = wait_for(lambda: client.get(pending_url).json()["seq"] == second.seq)
        assert waiting
        refused = decide(client, first, "approve")
        assert refused.status_code == 409
        assert "superseded" in refused.json()["detail"]
        assert decide(client, second, "approve").status_code == 200
        out = finish(proc)
    finally:
        proc.kill()
    assert b"answer: 'y'" in out
    first.refresh_from_db()
    assert first.prompt_decision == "superseded"
    # Answered: nothing is pending, and a second decision is refused, saying by whom.
    assert client.get(pending_url).json()["waiting"] is False
    again = decide(client, second, "deny")
    assert again.status_code == 409 and "dashboard:rita" in again.json()["detail"]


# ---- fail-safe risk (issue 14 item 3) ----


def test_auto_confirm_medium_never_answers_a_prompt_whose_command_is_unknown(tap_env):
    code = "a = input('Continue? [y/N] '); print('answer:', repr(a))"
    result = run_pty_tap(tap_env, "--", *py(code), auto_confirm="medium", prompt_timeout=1)
    assert b"answer: 'y'" not in result.stdout
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    assert prompt.risk_level == "high" and prompt.metadata["command"] is None
    assert not prompt.auto_confirmable
    assert (prompt.prompt_decision, prompt.prompt_decision_by) == ("deny", "timeout")
    assert "auto_confirmed" not in prompt.session.state_changes.values_list("state", flat=True)


def test_auto_confirm_medium_answers_a_medium_prompt_whose_command_it_can_read(tap_env):
    code = "a = input('Run `pip install requests`? [y/N] '); print('answer:', repr(a))"
    result = run_pty_tap(tap_env, "--", *py(code), auto_confirm="medium")
    assert b"answer: 'y'" in result.stdout
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    assert (prompt.risk_level, prompt.metadata["command"]) == ("medium", "pip install requests")
    assert prompt.prompt_decision == "approve" and prompt.prompt_decision_by.startswith("policy")
