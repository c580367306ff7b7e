"""Prompts a wrapped program waits at: auto-confirm, approve/deny from the dashboard, timeouts.

Real programs in a real PTY: the fake agent TUI (draws like Claude Code / Codex), Python's
input(), `rm -i`, and pip in a throwaway virtualenv.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from extraction.models import ExtractionEvent
from sessions.approvals import TITLE_POP, TITLE_PUSH
from sessions.models import ProcessSession
from tests.helpers import wait_for

from .conftest import ROOT, py, run_tap, tap_argv
from .helpers import run_pty_tap, start_tap

pytestmark = pytest.mark.django_db(transaction=True)

FAKE_TUI = [sys.executable, str(ROOT / "tests" / "programs" / "fake_agent_tui.py")]


def fake_tui(style: str, command: str) -> list[str]:
    """argv of the fake agent TUI drawing ``style``'s permission prompt for ``command``."""
    return [*FAKE_TUI, "--style", style, "--command", command]


def states(session: ProcessSession) -> list[str]:
    """The session's states, less the tap's note of which agent channels it watches."""
    changes = session.state_changes.exclude(state="agent_channels")
    return list(changes.values_list("state", flat=True))


def start_pty_tap(env, *args) -> subprocess.Popen:
    """`tap --pty *args` left running, its stdin a pipe the test types into."""
    return start_tap(env, "--pty", *args, stdin=subprocess.PIPE)


def waiting_prompt() -> ExtractionEvent:
    def find():
        session = ProcessSession.objects.filter(status="waiting_for_input").first()
        return session and session.events.filter(event_type="prompt").first()

    return wait_for(find)


def staff_client() -> APIClient:
    user = get_user_model().objects.create_user("rita", password="pw", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


def decide(client: APIClient, event: ExtractionEvent, decision: str):
    url = f"/api/sessions/{event.session.session_id}/prompts/{event.seq}/decision"
    return client.post(url, {"decision": decision}, format="json")


def test_low_risk_prompt_is_auto_confirmed_with_the_approve_once_key(tap_env):
    result = run_pty_tap(tap_env, "--", *fake_tui("codex", "ls -la"), auto_confirm="low")
    assert result.returncode == 0
    # "y" approves once; "p" ("don't ask again") would print APPROVED ALWAYS.
    assert b"APPROVED" in result.stdout and b"APPROVED ALWAYS" not in result.stdout
    session = ProcessSession.objects.get()
    prompt = session.events.get(event_type="prompt")
    assert prompt.rule == "codex_permission" and prompt.risk_level == "low"
    assert prompt.prompt_decision == "approve" and prompt.prompt_decision_by.startswith("policy")
    assert prompt.review_status == "pending"  # triage is a person's, not the policy's
    assert prompt.metadata["answer"] == {"by": "policy", "decision": "approve", "writes": ["y"]}
    assert "auto_confirmed" in states(session)


def test_high_risk_prompt_is_never_auto_confirmed_and_times_out_denied(tap_env):
    result = run_pty_tap(
        tap_env,
        "--",
        *fake_tui("claude", "rm -rf build/"),
        auto_confirm="medium",
        prompt_timeout=1,
    )
    assert b"DENIED" in result.stdout
    session = ProcessSession.objects.get()
    prompt = session.events.get(event_type="prompt")
    assert prompt.risk_level == "high" and prompt.metadata["command"] == "rm -rf build/"
    assert prompt.prompt_decision == "deny"
    assert prompt.prompt_decision_by == "timeout"
    assert states(session)[:3] == ["running", "waiting_for_input", "prompt_answered"]
    answered = session.state_changes.get(state="prompt_answered").metadata
    assert answered["by"] == "timeout" and answered["outcome"] == "deny"
    assert session.prompt_wait_seconds >= 1.0


def test_policy_dry_run_records_what_it_would_answer_without_answering(tap_env):
    result = run_pty_tap(
        tap_env,
        "--policy-dry-run",
        "--",
        *fake_tui("codex", "git status"),
        auto_confirm="low",
        prompt_timeout=1,
    )
    assert b"DENIED" in result.stdout  # the timeout answered, not the policy
    session = ProcessSession.objects.get()
    dry = session.state_changes.get(state="auto_confirm_dry_run").metadata
    assert dry["writes"] == ["y"] and dry["command"] == "git status"
    assert session.events.get().metadata["policy"]["decision"] == "would_approve"


def test_approve_from_the_dashboard_types_the_answer(tap_env):
    client = staff_client()
    proc = start_pty_tap(tap_env, "--", *fake_tui("claude", "rm -rf build/"))
    try:
        prompt = waiting_prompt()
        assert prompt.metadata["approve_writes"] == ["1"]
        response = decide(client, prompt, "approve")
        assert response.status_code == 200, response.content
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert b"APPROVED" in out
    prompt.refresh_from_db()
    assert prompt.prompt_decision == "approve" and prompt.prompt_decided_by.username == "rita"
    assert prompt.review_status == "pending"
    session = prompt.session
    session.refresh_from_db()
    assert session.status == "completed"
    answered = session.state_changes.get(state="prompt_answered").metadata
    assert answered["by"] == "dashboard:rita"
    # First answer wins: a second decision is refused.
    assert decide(client, prompt, "deny").status_code == 409


def test_deny_from_the_dashboard_sends_escape(tap_env):
    client = staff_client()
    proc = start_pty_tap(tap_env, "--", *fake_tui("codex", "rm -rf build/"))
    try:
        prompt = waiting_prompt()
        assert decide(client, prompt, "deny").status_code == 200
        # wait(), not communicate(): closing stdin would type ^D into the program, and one
        # right after the Esc that denies reads as an Esc sequence.
        proc.wait(timeout=30)
        out = proc.stdout.read()
    finally:
        proc.kill()
    assert b"DENIED" in out
    prompt.refresh_from_db()
    assert prompt.prompt_decision == "deny"


def test_the_person_at_the_terminal_can_answer_first(tap_env):
    client = staff_client()
    proc = start_pty_tap(tap_env, "--", *fake_tui("claude", "rm -rf x/"))
    try:
        prompt = waiting_prompt()
        proc.stdin.write(b"1")
        proc.stdin.flush()
        wait_for(
            lambda: ExtractionEvent.objects.filter(
                pk=prompt.pk, prompt_decision="approve", prompt_decision_by="terminal"
            ).exists()
        )
        assert decide(client, prompt, "deny").status_code == 409
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert b"APPROVED" in out
    answered = prompt.session.state_changes.get(state="prompt_answered").metadata
    assert answered["by"] == "terminal"


def test_only_staff_may_decide(tap_env):
    outsider = get_user_model().objects.create_user("olga", password="pw")
    client = APIClient()
    client.force_authenticate(outsider)
    proc = start_pty_tap(
        tap_env,
        "--prompt-timeout",
        "5",
        "--",
        *fake_tui("codex", "rm -rf build/"),
    )
    try:
        prompt = waiting_prompt()
        assert decide(client, prompt, "approve").status_code == 403
        assert decide(APIClient(), prompt, "approve").status_code in (401, 403)
        assert decide(staff_client(), prompt, "maybe").status_code == 400
    finally:
        proc.kill()
        proc.wait()


def test_python_input_prompt_is_answered_by_policy(tap_env):
    code = "a = input('Run the tests with pytest? [y/N] '); print('answer:', repr(a))"
    result = run_pty_tap(tap_env, "--", *py(code), auto_confirm="low")
    assert b"answer: 'y'" in result.stdout
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    assert prompt.risk_level == "low" and prompt.metadata["answer"]["writes"] == ["y", "\r"]


def test_an_answer_typed_through_a_pipe_ends_its_line_with_a_newline(tap_env):
    # A terminal turns Enter's carriage return into a newline; a pipe does not, and a program
    # reading a line would wait for one.
    code = "a = input('Run the tests with pytest? [y/N] '); print('answer:', repr(a))"
    # stdin kept open: only the answer can end the program's line.
    proc = start_tap(
        tap_env, "--pipe", "--auto-confirm", "low", "--", *py(code), stdin=subprocess.PIPE
    )
    try:
        wait_for(lambda: proc.poll() is not None, timeout=30)
        out = proc.stdout.read()
    finally:
        proc.kill()
    assert b"answer: 'y'" in out
    assert proc.returncode == 0


def test_a_prompt_is_stored_at_once_so_the_dashboard_can_answer_it_without_waiting(tap_env):
    # With a minute between batches, only a prompt's own urgency gets its row stored while the
    # program waits: the dashboard's Approve looks the prompt up by its row.
    code = (
        "import time; print('ERROR: before', flush=True); time.sleep(1)\n"
        "a = input('Deploy now? [y/N] '); print('answer:', repr(a))"
    )
    proc = start_tap(
        tap_env, "--pipe", "--batch-seconds", "60", "--", *py(code), stdin=subprocess.PIPE
    )
    try:
        prompt = wait_for(
            lambda: ExtractionEvent.objects.filter(event_type="prompt").first(), timeout=30
        )
        wait_for(lambda: ProcessSession.objects.get().status == "waiting_for_input", timeout=30)
        assert decide(staff_client(), prompt, "approve").status_code == 200
        # stdin stays open: the program's line can only end with the typed answer.
        wait_for(lambda: proc.poll() is not None, timeout=30)
        out = proc.stdout.read()
    finally:
        proc.kill()
    assert b"answer: 'y'" in out
    assert ProcessSession.objects.get().events.count() == 2


def test_a_program_that_ends_at_its_prompt_ends_its_state_history_with_its_end(tap_env):
    code = "import sys; print('Deploy now? [y/N] ', flush=True); sys.exit(4)"
    result = run_tap(tap_env, "--pipe", "--", *py(code), stdin=subprocess.DEVNULL)
    assert result.returncode == 4
    session = ProcessSession.objects.get()
    # What the tap found about the program (agent_channels: which channels it watches) aside.
    history = list(
        session.state_changes.exclude(state="agent_channels").order_by("timestamp", "id")
    )
    assert [c.state for c in history] == [
        "running",
        "waiting_for_input",
        "prompt_answered",
        "failed",
    ]
    assert history[2].metadata["outcome"] == "unanswered"


def test_the_terminal_title_the_tap_sets_for_a_prompt_is_restored_at_the_end(tap_env):
    code = "import time; print('Deploy now? [y/N] ', flush=True); time.sleep(1)"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        tap_argv("--", *py(code)), env=tap_env, cwd=ROOT, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    output = b""
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer to the terminal has gone
                break
            if not data:
                break
            output += data
        proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(master)
    first_title = output.index(b"\x1b]2;streamtap: waiting for an answer")
    assert output.rfind(TITLE_PUSH.encode(), 0, first_title) >= 0
    assert output.rindex(TITLE_POP.encode()) > output.rindex(b"\x1b]2;")


def test_rm_i_prompt_is_found_and_a_timeout_denies_it(tap_env, tmp_path):
    victim = tmp_path / "keep-me.txt"
    victim.write_text("data")
    result = run_pty_tap(tap_env, "--", "rm", "-i", str(victim), prompt_timeout=1)
    assert victim.exists()
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    assert "remove" in prompt.content
    assert prompt.prompt_decision == "deny"
    assert result.returncode != 0 or victim.exists()


@pytest.mark.slow
def test_pip_uninstall_is_not_answered_at_medium_as_its_command_is_not_on_the_prompt(
    tap_env, tmp_path
):
    # "Proceed (Y/n)?" under a list of files: what it approves cannot be read from the prompt,
    # so it is high risk and --auto-confirm medium leaves it to a person (here: the timeout).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = venv / "bin" / "pip"
    result = run_pty_tap(
        tap_env,
        "--",
        str(pip),
        "uninstall",
        "pip",
        auto_confirm="medium",
        prompt_timeout=1,
        timeout=120,
    )
    assert b"Proceed (Y/n)?" in result.stdout
    assert b"Successfully uninstalled pip" not in result.stdout
    assert pip.exists()
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    assert prompt.risk_level == "high" and prompt.metadata["command"] is None
    assert prompt.prompt_decision == "deny" and prompt.prompt_decision_by == "timeout"


def test_time_blocked_on_prompts_is_reported_per_rule(tap_env):
    run_pty_tap(
        tap_env,
        "--agent",
        "waiter",
        "--",
        *fake_tui("codex", "rm -rf build/"),
        prompt_timeout=1,
    )
    client = staff_client()
    stats = client.get("/api/query/stats/agent/waiter").json()
    (codex,) = stats["prompt_wait"]["by_rule"]
    assert codex["rule"] == "codex_permission" and codex["prompts"] == 1
    assert codex["wait_seconds"] >= 1.0
    assert stats["prompt_wait"]["total_seconds"] == codex["wait_seconds"]


# Like aider's `Run shell command?`: Ctrl-D (end of input) at the question counts as yes.
EOF_MEANS_YES = """
import os, sys, time
print("banner", flush=True)
time.sleep(float(sys.argv[1]))  # a model call: nothing printed
try:
    answer = input("Run shell command? (Y)es/(N)o [Yes]: ")
except EOFError:
    answer = "yes"
if answer.strip().lower() in ("", "y", "yes"):
    open(sys.argv[2], "w").close()
    print("RAN")
else:
    print("SKIPPED")
"""


@pytest.mark.parametrize(
    "pause, kind",
    [
        pytest.param("0", "generic", id="question-at-once"),
        pytest.param("0.8", "aider", id="agent-asks-after-a-silent-pause"),
    ],
)
def test_the_end_of_piped_input_never_answers_a_question(tap_env, tmp_path, pause, kind):
    ran = tmp_path / "ran"
    result = run_tap(
        tap_env,
        "--pty",
        "--agent-kind",
        kind,
        "--prompt-timeout",
        "1",
        "--",
        *py(EOF_MEANS_YES),
        pause,
        str(ran),
        input=b"",  # the tap's stdin is a pipe that ends at once
    )
    assert not ran.exists(), result.stdout.decode(errors="replace")
    assert b"SKIPPED" in result.stdout
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    assert prompt.prompt_decision == "deny" and prompt.prompt_decision_by == "timeout"


@pytest.mark.parametrize("pause", [0, 0.05], ids=["in-one-chunk", "in-two-chunks"])
def test_a_question_asked_again_after_a_screenful_of_output_is_a_prompt_again(tap_env, pause):
    # `apt-get -y` prints its question answered ("… [Y/n] Y") and goes on; a later step asks
    # the same question and waits. The second ask stands a screenful below the first: it is a
    # new prompt (here denied at the timeout), not the first one seen again. Before, the tap
    # took it for the first and the program waited with no prompt on record.
    code = (
        "import sys, time\n"
        "print('Do you want to continue? [Y/n] Y', flush=True)\n"
        f"time.sleep({pause})\n"
        "for i in range(200):\n"
        "    print(f'Unpacking package-{i} ...')\n"
        "answer = input('Do you want to continue? [Y/n] ')\n"
        "print('answer:', repr(answer))\n"
    )
    result = run_pty_tap(tap_env, "--", *py(code), prompt_timeout=1, timeout=30)
    assert b"answer: 'n'" in result.stdout, result.stdout[-500:]
    prompts = ProcessSession.objects.get().events.filter(event_type="prompt").order_by("seq")
    assert [(p.prompt_decision, p.prompt_decision_by) for p in prompts] == [
        ("superseded", "program"),  # it went on without waiting
        ("deny", "timeout"),
    ]
    assert prompts[0].line_start == 1 and prompts[1].line_start > 200


def test_the_same_question_asked_again_after_an_empty_answer_is_a_prompt_again(tap_env):
    # Enter takes the default and the program asks the next item the same question on the next
    # line: no text between the two but the first question's own line. The second is a new
    # prompt, here denied at the timeout; before, the program waited with none on record.
    code = (
        "first = input('Overwrite the file? [y/N] ')\n"
        "second = input('Overwrite the file? [y/N] ')\n"
        "print('answers:', repr(first), repr(second))\n"
    )
    proc = start_pty_tap(tap_env, "--prompt-timeout", "2", "--", *py(code))
    try:
        first = waiting_prompt()
        proc.stdin.write(b"\r")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert b"answers: '' 'n'" in out, out[-500:]
    prompts = list(first.session.events.filter(event_type="prompt").order_by("seq"))
    assert len(prompts) == 2, [(p.line_start, p.content) for p in prompts]
    assert (prompts[1].prompt_decision, prompts[1].prompt_decision_by) == ("deny", "timeout")


# ---- a program that prints on after its question is not waiting there ----

PRINTS_ON_AFTER_ITS_QUESTION = """
import os, select, sys, time
print('Deploy now? [y/N]', flush=True)
for i in range(int(sys.argv[1])):
    time.sleep(0.3)
    print('deploying step', i, flush=True)
ready, _, _ = select.select([sys.stdin], [], [], 1.0)
print('typed into me:', repr(os.read(0, 100) if ready else b''), flush=True)
"""


def test_a_question_the_program_printed_on_after_cannot_be_answered_into_it(tap_env):
    # It asked, then went on printing without reading: shown waiting only until its next
    # line, and an approval after that is refused, not typed into whatever reads next.
    proc = start_tap(
        tap_env, "--pipe", "--", *py(PRINTS_ON_AFTER_ITS_QUESTION), "30", stdin=subprocess.PIPE
    )
    try:
        prompt = wait_for(
            lambda: ExtractionEvent.objects.filter(event_type="prompt").first(), timeout=30
        )
        session = prompt.session
        wait_for(lambda: session.state_changes.filter(state="prompt_answered").exists(), 30)
        session.refresh_from_db()
        assert proc.poll() is None  # still printing
        assert session.status == "running" and session.pending_prompt() is None
        assert decide(staff_client(), prompt, "approve").status_code == 409
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert b"typed into me: b''" in out
    prompt.refresh_from_db()
    assert (prompt.prompt_decision, prompt.prompt_decision_by) == ("superseded", "program")
    answered = session.state_changes.get(state="prompt_answered").metadata
    assert (answered["outcome"], answered["by"]) == ("superseded", "program")


def test_questions_in_a_flood_of_output_are_stored_passed_without_a_wait(tap_env, tmp_path):
    log = tmp_path / "build.log"
    log.write_text(
        "".join(f"step {i}: compiling\nProceed (Y/n)?\nstep {i}: linking\n" for i in range(300))
    )
    result = run_tap(tap_env, "--pipe", "--", "cat", str(log), stdin=subprocess.DEVNULL)
    assert result.returncode == 0
    session = ProcessSession.objects.get()
    prompts = session.events.filter(event_type="prompt")
    assert prompts.count() == 300
    assert set(prompts.values_list("prompt_decision", "prompt_decision_by")) == {
        ("superseded", "program")
    }
    assert all(p.metadata["program_went_on"] for p in prompts)
    assert states(session) == ["running", "completed"]


ASKS_THEN = """
import os, select, sys, time
print('Run the tests with pytest? [y/N]', flush=True)
if sys.argv[1] == 'waits':
    print('answer:', repr(sys.stdin.readline()), flush=True)
else:  # prints on a moment later, as a program that never reads its answer
    time.sleep(0.02)
    for i in range(20):
        print('collecting tests', i, flush=True)
    ready, _, _ = select.select([sys.stdin], [], [], 1.5)
    print('typed into me:', repr(os.read(0, 100) if ready else b''), flush=True)
"""


@pytest.mark.parametrize("then", ["waits", "prints on"])
def test_the_policy_answers_a_question_only_once_the_program_is_known_to_wait_at_it(tap_env, then):
    # Typed at once, "y" reached a program that had printed on: the next thing it reads.
    proc = start_tap(
        tap_env,
        "--pipe",
        "--auto-confirm",
        "low",
        "--",
        *py(ASKS_THEN),
        then,
        stdin=subprocess.PIPE,
    )
    try:
        # stdin stays open: only a typed answer can end the program's line.
        wait_for(lambda: proc.poll() is not None, timeout=60)
        out = proc.stdout.read()
    finally:
        proc.kill()
    prompt = ProcessSession.objects.get().events.get(event_type="prompt")
    if then == "waits":
        assert b"answer: 'y\\n'" in out
        assert (prompt.prompt_decision, prompt.metadata["answer"]["by"]) == ("approve", "policy")
    else:
        assert b"typed into me: b''" in out
        assert (prompt.prompt_decision, prompt.prompt_decision_by) == ("superseded", "program")
