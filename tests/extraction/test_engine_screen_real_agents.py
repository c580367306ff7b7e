"""Today's Claude Code screens, from a real recording, found by the screen fallback (14.6).

`claude-2.1.332-first-run.cast` is Claude Code 2.1.332 (the newest the npm registry served on
2026-12-03) under `tap --pty` in a 120x40 tmux terminal, against
tests/programs/mock_model_server.py, from a first run: the trust-folder dialog, the
use-this-API-key dialog (both answered by `--auto-confirm low`), then the permission box for
`rm -rf build/` (a "Bash command" header, a tip, the command between two ╌ rules), denied with
Esc at the terminal.

`claude-2.1.197-trust.cast` is Claude Code 2.1.197's trust dialog, the same way (numbered).
`claude-2.1.197-wrapped-option.cast` is its permission box for `mkdir -p dist && touch dist/app`
in an 80x24 terminal under a deep project folder (tests/agents/test_terminal_flows.py run by
pytest-xdist), whose second option wraps; its /tmp paths renamed (the same lengths).
`aider-0.86.2-shell-command.cast` is aider 0.86.2 the same way, asking
"Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]:" for the mock's `rm -rf build/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extraction.engine import Pipeline, replay_recording
from extraction.engine.screen import ScreenAnalyzer
from sessions.recording import iter_events, read_header
from sessions.terminal_answers import TerminalAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real_agents"
FIRST_RUN = FIXTURES / "claude-2.1.332-first-run.cast"
AIDER = FIXTURES / "aider-0.86.2-shell-command.cast"


def terminal_pipeline(cols: int, rows: int, events: list[dict]) -> Pipeline:
    """A PTY tap's pipeline (line view and screen), without a database."""
    return Pipeline(
        redact=False, screen_size=(cols, rows), agent_name="replay", on_events=events.extend
    )


def prompts_in(cast: Path) -> list[dict]:
    header = read_header(cast)
    events: list[dict] = []
    replay_recording(
        terminal_pipeline(header["width"], header["height"], events), iter_events(cast)
    )
    return [e for e in events if e["event_type"] == "prompt"]


@pytest.fixture(scope="module")
def first_run() -> list[dict]:
    return prompts_in(FIRST_RUN)


def test_one_prompt_event_per_dialog_and_one_for_the_permission_box(first_run):
    assert [(p["rule"], p["risk_level"]) for p in first_run] == [
        ("claude_trust_folder", "low"),
        ("claude_api_key", "low"),
        ("claude_permission", "high"),
    ]


def test_permission_box_of_2_1_332_gives_the_exact_command_between_the_rules(first_run):
    box = first_run[2]["metadata"]
    assert box["command"] == "rm -rf build/"
    assert box["description"] == "Remove the build directory"  # the tip line is not in it
    assert box["question"] == "Do you want to proceed?"
    assert box["approve_writes"] == ["1"] and box["deny_writes"] == ["\x1b"]
    assert not first_run[2]["auto_confirmable"]


def test_first_run_dialogs_are_arrow_menus_answered_with_arrows_and_enter(first_run):
    trust, api_key = (p["metadata"] for p in first_run[:2])
    # Trust: "❯ No, exit" is highlighted; "Yes, I trust this folder" is one row down.
    assert [o["label"] for o in trust["options"]] == ["No, exit", "Yes, I trust this folder"]
    assert trust["approve_writes"] == ["\x1b[B", "\r"] and trust["deny_writes"] == ["\x1b"]
    assert trust["question"].endswith("Is this a project you created or one you trust?")
    # API key: "❯ No (recommended)" is highlighted; "Yes" is one row up.
    assert api_key["question"] == "Do you want to use this API key?"
    assert api_key["approve_writes"] == ["\x1b[A", "\r"]
    assert "sk-ant" not in api_key["screen"]  # redacted
    # What a person types there is read the same way: Enter on the highlighted "No" denies.
    assert TerminalAnswer(api_key).feed("\r") == "deny"
    assert TerminalAnswer(api_key).feed("\x1b[A\r") == "approve"
    assert TerminalAnswer(trust).feed("1") is None  # numbers do nothing in these menus


def test_aider_question_is_one_prompt_event_though_two_detectors_see_it():
    # The line view reads it as its line ends; the screen an idle later, once prompt_toolkit
    # has put the cursor back on it. Both used to be reported, the first then "superseded".
    (prompt,) = prompts_in(AIDER)
    assert (prompt["risk_level"], prompt["metadata"]["command"]) == ("high", "rm -rf build/")
    assert prompt["metadata"]["question"] == "Run shell command?"
    assert TerminalAnswer(prompt["metadata"]).feed("n\r") == "deny"


def test_trust_dialog_of_2_1_197_is_a_numbered_menu_under_a_question_with_an_aside():
    (trust,) = prompts_in(FIXTURES / "claude-2.1.197-trust.cast")
    assert (trust["rule"], trust["risk_level"]) == ("claude_trust_folder", "low")
    meta = trust["metadata"]
    assert meta["question"].endswith("Is this a project you created or one you trust?")
    assert [o["label"] for o in meta["options"]] == ["Yes, I trust this folder", "No, exit"]
    assert meta["approve_writes"] == ["1"]


def test_a_permission_box_whose_second_option_wraps_is_still_one_prompt_with_three_options():
    # Under a deep project folder Claude Code 2.1.197 wraps "2. Yes, and don't ask again … in
    # <folder>" and drops the space after "2." ("2.Yes, …"): the box was not seen at all, so
    # the person's Esc was nobody's answer (found by a parallel test run's longer tmp paths).
    (prompt,) = prompts_in(FIXTURES / "claude-2.1.197-wrapped-option.cast")
    assert (prompt["rule"], prompt["risk_level"]) == ("claude_permission", "medium")
    meta = prompt["metadata"]
    assert (meta["question"], meta["command"]) == (
        "Do you want to proceed?",
        "mkdir -p dist && touch dist/app",
    )
    assert [(o["key"], o["kind"]) for o in meta["options"]] == [
        ("1", "approve_once"),
        ("2", "approve_always"),
        ("3", "deny"),
    ]
    assert meta["options"][1]["label"].endswith("test_claude_esc_at_its_prompt_0/proj")
    assert TerminalAnswer(meta).feed("\x1b") == "deny"


# ---- a generic arrow menu and a generic numbered menu ----


def screen_prompt(text: str) -> dict | None:
    analyzer = ScreenAnalyzer(100, 20)
    analyzer.feed(text.replace("\n", "\r\n"))
    events = analyzer.idle()
    return events[0] if events else None


def test_generic_arrow_menu_is_a_prompt_high_risk_when_it_names_nothing():
    event = screen_prompt(
        "Deploy the release to production?\n\n  ❯ Yes, deploy\n    No\n\n  ↑/↓ to move · Enter to confirm · Esc to cancel\n"
    )
    assert event.rule == "screen_arrow_menu" and event.risk_level == "high"
    assert event.metadata["approve_writes"] == ["\r"]  # "Yes, deploy" is highlighted
    assert event.metadata["menu"] == "arrows"


def test_generic_numbered_menu_with_a_cursor_is_a_prompt():
    event = screen_prompt("Run `npm install left-pad`?\n\n> 1. Yes\n  2. No\n")
    assert event.rule == "screen_menu" and event.metadata["program"] == "generic"
    assert (event.risk_level, event.metadata["command"]) == ("medium", "npm install left-pad")
    assert (event.metadata["approve_writes"], event.metadata["deny_writes"]) == (["1"], ["2"])


def test_a_list_with_a_marker_but_no_question_is_not_a_prompt():
    assert screen_prompt("Steps:\n❯ build\n  test\n\nEsc to cancel\n") is None


def test_the_same_question_asked_again_after_an_answer_is_a_new_event():
    events: list[dict] = []
    pipeline = terminal_pipeline(80, 24, events)
    pipeline.feed(0.0, "Run `rm -rf build/`? [y/N] ")
    pipeline.idle()
    pipeline.idle()  # seen again, by either detector: still one question
    pipeline.feed(1.0, "n\r\nskipped\r\nRun `rm -rf build/`? [y/N] ")
    pipeline.idle()
    prompts = [(e["rule"], e["line_start"]) for e in events if e["event_type"] == "prompt"]
    assert len(prompts) == 2, prompts


SCREENFUL = "".join(f"Unpacking package-{i} ...\r\n" for i in range(200))
ASKED = "Do you want to continue? [Y/n] "


@pytest.mark.parametrize(
    "chunks",
    [
        # Answered in the log, then asked for real after a screenful: in one chunk, or the
        # first line alone and the rest in the next (the line view reports the first late).
        [ASKED + "Y\r\n" + SCREENFUL + ASKED],
        [ASKED + "Y\r\n", SCREENFUL + ASKED],
        # Two answered in one chunk (a flood): both found at the chunk's end.
        [ASKED + "Y\r\n" + SCREENFUL + ASKED + "Y\r\n" + "Setting up ...\r\n", "done\r\n"],
    ],
    ids=["one-chunk", "two-chunks", "both-answered-in-a-flood"],
)
def test_the_same_question_a_screenful_apart_is_two_prompts_as_without_a_terminal(chunks):
    def prompt_lines(screen_size) -> list[int]:
        events: list[dict] = []
        pipeline = Pipeline(redact=False, screen_size=screen_size, on_events=events.extend)
        for offset, chunk in enumerate(chunks):
            pipeline.feed(float(offset), chunk)
        pipeline.settle()
        pipeline.idle()
        pipeline.close()
        return [e["line_start"] for e in events if e["event_type"] == "prompt"]

    in_terminal = prompt_lines((80, 24))
    assert len(in_terminal) == 2, in_terminal
    assert len(prompt_lines(None)) == 2
    assert in_terminal[0] == 1 and in_terminal[1] > 200


@pytest.mark.parametrize(
    "chunks",
    [
        # Asked, answered with Enter (the default), asked again on the next line: waiting.
        [ASKED, "IDLE", "\r\n" + ASKED, "IDLE"],
        # The same question on two consecutive lines of a log.
        ["Reading package lists...\r\n" + ASKED + "\r\n" + ASKED + "\r\nDone\r\n", "IDLE"],
    ],
    ids=["after-an-empty-answer", "on-consecutive-lines"],
)
def test_the_same_question_on_the_next_line_is_asked_again(chunks):
    def prompts(screen_size) -> int:
        events: list[dict] = []
        pipeline = Pipeline(redact=False, screen_size=screen_size, on_events=events.extend)
        for offset, chunk in enumerate(chunks):
            if chunk == "IDLE":
                pipeline.settle()
                pipeline.idle()
            else:
                pipeline.feed(float(offset), chunk)
        return sum(e["event_type"] == "prompt" for e in events)

    assert prompts((80, 24)) == prompts(None) == 2


def test_agent_permission_box_whose_command_cannot_be_read_is_high_and_never_automatic():
    # A layout this parser does not know: no header, the command nowhere it looks.
    event = screen_prompt(
        " ╭──────────╮\n │ ░░░░░░░░ │\n ╰──────────╯\n\n"
        " Do you want to proceed?\n ❯ 1. Yes\n   2. No\n\n Esc to cancel\n"
    )
    assert event.rule == "claude_permission" and event.metadata["command"] is None
    assert event.risk_level == "high" and not event.auto_confirmable
