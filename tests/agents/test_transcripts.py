"""The agent's transcript as the source of content: code blocks a TUI shows without fences.

The mock model answers with a fenced code block; each CLI draws it as rendered Markdown (no
fences on the terminal), and the tap reads it from the transcript the CLI writes. Asked twice
(two sessions), the block is ONE CodeBlock with ``occurrences`` 2.
"""

from __future__ import annotations

import pytest

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession
from tests.agents.live import Tap, claude_env, cli, codex_env, project, wait_for
from tests.agents.versions import CLAUDE_CODE_VERSIONS

CODE = "def greet(name):\n    return f'hello {name}'"
REPLY = f"Here it is:\n\n```python\n{CODE}\n```\n"


def code_events(session: ProcessSession) -> list[ExtractionEvent]:
    return list(session.events.filter(event_type="code_block"))


def ask_twice(start_tap) -> list[ProcessSession]:
    """Two sessions, each asking once and ending after the answer is in the transcript."""
    for n in (1, 2):
        tap = start_tap()
        try:
            wait_for(
                lambda n=n: ExtractionEvent.objects.filter(event_type="code_block").count() >= n,
                30,
                f"the code block of run {n} from the transcript",
            )
        finally:
            tap.finish()
    return list(ProcessSession.objects.order_by("pk"))


@pytest.mark.parametrize("version", CLAUDE_CODE_VERSIONS)
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_claude_code_answer_given_twice_is_one_code_block(version, tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reply = None, REPLY
    claude = cli("claude", version)
    proj = project(tmp_path)
    env = claude_env(tap_env, tmp_path, mock_model, proj, version)
    sessions = ask_twice(lambda: Tap(env, proj, "--pty", "--", claude, "Write greet()"))
    for session in sessions:
        [event] = code_events(session)
        assert event.content == CODE and event.metadata["language"] == "python"
        assert event.metadata["source"] == "transcript"
        assert session.events.filter(rule="agent_usage", metadata__name="tokens_output").exists()
    block = CodeBlock.objects.get()
    assert (block.occurrences, block.content, block.language) == (2, CODE, "python")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_codex_answer_given_twice_is_one_code_block(tap_env, tmp_path, mock_model):
    mock_model.command, mock_model.reply = None, REPLY
    codex = cli("codex")
    proj = project(tmp_path)
    env = codex_env(tap_env, tmp_path, mock_model, proj)
    sessions = ask_twice(
        lambda: Tap(env, proj, "--pty", "--", codex, "--no-daemon", "-C", str(proj), "Write greet")
    )
    for session in sessions:
        [event] = code_events(session)
        assert event.content == CODE and event.metadata["source"] == "transcript"
    assert CodeBlock.objects.get().occurrences == 2
