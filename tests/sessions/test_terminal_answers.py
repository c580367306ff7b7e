"""Keys typed at the terminal, read against the prompt they answer: approve, deny or unknown.

The prompts are the ones the tap finds: the screen analyzer over the fake agent TUI's drawings
(Claude's menu, Codex's menu, aider's line question) and the extractor's line prompts.
"""

from __future__ import annotations

import pytest

from extraction.engine.extractor import Extractor
from sessions.screen import ScreenAnalyzer
from sessions.terminal_answers import TerminalAnswer
from tests.programs.fake_agent_tui import aider_prompt, claude_prompt, codex_prompt

UP, DOWN, ESC, ENTER = "\x1b[A", "\x1b[B", "\x1b", "\r"


def drawn(text: str) -> dict:
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed(text)
    (event,) = analyzer.idle()
    return event.metadata


def line_prompt(text: str) -> dict:
    extractor = Extractor()
    extractor.feed(text)
    (event,) = [e for e in extractor.idle() if e.event_type == "prompt"]
    return event.metadata


def answer(metadata: dict, *keys: str) -> str | None:
    reader = TerminalAnswer(metadata)
    outcome = None
    for key in keys:
        outcome = reader.feed(key)
        if outcome is not None:
            return outcome
    return outcome


CLAUDE = drawn(claude_prompt("rm -rf build/"))
CODEX = drawn(codex_prompt("rm -rf build/"))
AIDER = drawn(aider_prompt("rm -rf build/"))


# What each prompt makes of the keys typed at it: (keys, outcome) rows a prompt.
KEYS_AND_OUTCOMES = {
    "claude_menu": (
        CLAUDE,
        [
            (["1"], "approve"),
            (["2"], "approve"),  # "always allow" approves (more than once)
            (["4"], "deny"),
            ([ENTER], "approve"),  # the highlighted option is "1. Yes"
            ([DOWN, DOWN, DOWN, ENTER], "deny"),
            ([DOWN, DOWN, DOWN, DOWN, ENTER], "approve"),  # wraps round to "1. Yes"
            ([UP, ENTER], "deny"),
            ([ESC], "deny"),
            (["\x03"], "deny"),
            (["\x04"], "deny"),
            (["x", "9"], None),  # keys the menu ignores answer nothing yet
            (["\x1b[I"], None),  # a focus report is not Esc
            (["\x1b[I", ENTER], "approve"),
            (["\t", "do it differently", ENTER], "unknown"),  # Tab to amend, then a message
        ],
    ),
    "codex_menu": (
        CODEX,
        [
            (["y"], "approve"),
            (["p"], "approve"),
            (["n"], None),  # "No" has no letter in Codex: its shortcut is Esc
            ([ESC], "deny"),
            ([DOWN, DOWN, ENTER], "deny"),
            (["3"], None),  # a number only moves the highlight…
            (["3", ENTER], "deny"),  # …Enter takes it
        ],
    ),
    "aider_line_question": (
        AIDER,
        [
            (["y", ENTER], "approve"),
            (["n", ENTER], "deny"),
            (["d", ENTER], "approve"),  # "Don't ask again" approves this and the next ones
            ([ENTER], "approve"),  # aider's default is [Yes]
            (["y", "\x7f", "n", ENTER], "deny"),  # backspace
            (["maybe", ENTER], "unknown"),
            (["y"], None),  # no Enter yet: nothing answered
            ([ESC], "deny"),
            (["\x03"], "deny"),
        ],
    ),
    "line_yes_no_question_with_a_default": (
        line_prompt("Delete the cache? [y/N] "),
        [
            (["y", ENTER], "approve"),
            (["yes", ENTER], "approve"),
            (["N", ENTER], "deny"),
            ([ENTER], "deny"),  # [y/N]: Enter takes the default, no
            (["ok", ENTER], "unknown"),
            (["\x04"], "deny"),
        ],
    ),
}


@pytest.mark.parametrize(
    ("prompt", "keys", "outcome"),
    [
        pytest.param(prompt, keys, outcome, id=f"{name}-{i}")
        for name, (prompt, rows) in KEYS_AND_OUTCOMES.items()
        for i, (keys, outcome) in enumerate(rows)
    ],
)
def test_keys_typed_at_a_prompt(prompt, keys, outcome):
    assert answer(prompt, *keys) == outcome


def test_enter_without_a_default_is_unknown_never_approve():
    assert answer(line_prompt("Deploy to production (yes/no)? "), ENTER) == "unknown"


def test_password_typed_is_unknown_and_ctrl_c_denies():
    metadata = line_prompt("[sudo] password for rita: ")
    assert metadata.get("secret_input")
    assert answer(metadata, "hunter2", ENTER) == "unknown"
    assert answer(metadata, "\x03") == "deny"


def test_keys_in_one_chunk_are_read_one_by_one():
    assert answer(CLAUDE, DOWN + DOWN + DOWN + ENTER) == "deny"
    assert answer(AIDER, "n\r") == "deny"


def test_prompt_known_only_from_a_signal_takes_its_documented_keys():
    metadata = {"options": [], "approve_key": "y", "approve_writes": ["y"], "deny_writes": [ESC]}
    assert answer(metadata, "y") == "approve"
    assert answer(metadata, "q", ENTER) == "unknown"
    assert answer(metadata, ESC) == "deny"
