"""PromptController with fakes of the writer, publisher and program input (no database)."""

import threading

import pytest

from sessions.tap.approvals import PromptController

from .fakes import Calls, FakeWriter


class Program:
    """The program's input: what was typed, and an event once ``expected`` bytes arrived."""

    def __init__(self, expected: bytes):
        self.typed = b""
        self.expected = expected
        self.done = threading.Event()

    def send_input(self, data: bytes) -> None:
        self.typed += data
        if self.typed == self.expected:
            self.done.set()


def prompt_row(seq=1, risk="low", **meta):
    metadata = {"question": "Continue? [y/N]", "approve_key": "y", **meta}
    return {"seq": seq, "rule": "prompt_yes_no", "risk_level": risk, "metadata": metadata}


@pytest.fixture
def controller():
    made = []

    def make(program, **kwargs):
        c = PromptController(
            send_input=program.send_input,
            writer=FakeWriter(),
            publisher=Calls(),
            use_database=False,
            **kwargs,
        )
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_a_low_risk_prompt_within_the_policy_is_approved_on_its_row_and_typed(controller):
    program = Program(b"y\r")
    c = controller(program, auto_confirm="low")
    row = prompt_row()
    c.on_prompt(row)
    assert row["prompt_decision"] == "approve"
    assert row["metadata"]["answer"]["by"] == "policy"
    assert not c.is_waiting()
    # Its state change waits until the row is with the writer.
    assert c.writer.named("add_state") == []
    c.hand_over_states()
    assert [s[0] for s in c.writer.named("add_state")] == ["auto_confirmed"]
    assert program.done.wait(10)


def test_a_high_risk_prompt_waits_and_the_terminals_no_denies_it(controller):
    program = Program(b"")
    c = controller(program, auto_confirm="low")
    c.on_prompt(prompt_row(risk="high", command="rm -rf build"))
    c.hand_over_states()
    assert c.is_waiting()
    assert [s[0] for s in c.writer.named("add_state")] == ["waiting_for_input"]
    c.on_terminal_input(b"n\r")
    c._wake.set()
    deadline = threading.Event()
    for _ in range(200):
        if not c.is_waiting():
            break
        deadline.wait(0.05)
    assert not c.is_waiting()
    assert c.answers[-1]["outcome"] == "deny" and c.answers[-1]["by"] == "terminal"
    assert program.typed == b""  # the person typed the answer; nothing more is typed


def test_a_new_prompt_supersedes_the_waiting_one(controller):
    c = controller(Program(b""))
    c.on_prompt(prompt_row(seq=1, risk="high"))
    c.on_prompt(prompt_row(seq=2, risk="high"))
    c.hand_over_states()
    assert c.pending.seq == 2
    assert c.answers[0]["outcome"] == "superseded" and c.answers[0]["seq"] == 1


def test_the_timeout_denies_an_unanswered_prompt(controller):
    program = Program(b"n\r")
    c = controller(program, timeout=0.2)
    c.on_prompt(prompt_row(risk="high"))
    c.hand_over_states()
    assert program.done.wait(10)
    assert c.answers[-1]["by"] == "timeout"


def test_a_prompt_still_waiting_at_the_end_is_unanswered(controller):
    c = controller(Program(b""))
    c.on_prompt(prompt_row(risk="high"))
    c.close()
    assert c.answers[-1]["outcome"] == "unanswered"


def test_a_prompt_superseded_before_its_row_left_is_marked_on_the_row_without_a_query(controller):
    c = controller(Program(b""))
    first, second = prompt_row(seq=1, risk="high"), prompt_row(seq=2, risk="high")
    c.on_prompt(first)
    c.on_prompt(second)  # the same batch: neither row is with the writer yet
    assert first["prompt_decision"] == "superseded" and first["prompt_decision_by"] == "program"
    assert "prompt_decision" not in second
    c.hand_over_states()
    c.on_prompt(prompt_row(seq=3, risk="high"))  # the next batch: row 2 is with the writer
    # Row 2 is marked in the database by the writer, with the state that says it was superseded
    # (handed over after row 3, as every state is after its batch's rows).
    assert "prompt_decision" not in second
    c.hand_over_states()
    answered = [m for state, m, _ in c.writer.named("add_state") if state == "prompt_answered"]
    assert [(m["seq"], m["outcome"], m["by"]) for m in answered][-1] == (2, "superseded", "program")
    assert [(a["seq"], a["outcome"]) for a in c.answers] == [(1, "superseded"), (2, "superseded")]


# ---- a program that printed on after its question is not waiting there ----


def test_a_question_the_program_printed_past_is_superseded_on_its_row_and_nothing_waits(
    controller,
):
    program = Program(b"")
    c = controller(program, auto_confirm="medium")
    row = prompt_row(risk="low", program_went_on=True)
    c.on_prompt(row)
    c.hand_over_states()
    assert row["prompt_decision"] == "superseded" and row["prompt_decision_by"] == "program"
    assert not c.is_waiting()
    # Not shown waiting, no state recorded, and the policy typed nothing: a "y" would land in
    # whatever the program reads next.
    assert c.writer.named("add_state") == []
    assert c.publisher.named("state") == []
    c.close()
    assert program.typed == b""


def test_a_question_printed_past_supersedes_the_one_still_waiting(controller):
    c = controller(Program(b""))
    c.on_prompt(prompt_row(seq=1, risk="high"))
    c.hand_over_states()
    c.on_prompt(prompt_row(seq=2, risk="high", program_went_on=True))
    c.hand_over_states()
    assert not c.is_waiting()
    assert [(a["seq"], a["outcome"]) for a in c.answers] == [(1, "superseded")]


def test_text_after_the_waiting_question_supersedes_it_and_a_later_answer_types_nothing(
    controller,
):
    program = Program(b"")
    c = controller(program)
    c.on_prompt(prompt_row(seq=4, risk="high"))
    c.hand_over_states()
    assert c.is_waiting()
    c.on_program_went_on(3)  # an older prompt's news: this one still waits
    assert c.is_waiting()
    c.on_program_went_on(4)
    assert not c.is_waiting()
    assert c.answers[-1] | {"wait_seconds": 0} == {
        "seq": 4,
        "rule": "prompt_yes_no",
        "outcome": "superseded",
        "by": "program",
        "wait_seconds": 0,
    }
    assert [s[0] for s in c.writer.named("add_state")] == [
        "waiting_for_input",
        "prompt_answered",
        "running",
    ]
    c.on_terminal_input(b"y\r")  # too late: nothing pending takes it
    c.close()
    assert program.typed == b""
    assert len(c.answers) == 1


def wait_until_answered(c) -> None:
    for _ in range(200):
        if not c.is_waiting():
            return
        threading.Event().wait(0.05)
    raise AssertionError("the prompt is still pending")


@pytest.mark.parametrize(
    "typed, outcome",
    [
        (b"y\r", "approve"),
        # Keys that answered nothing readable before the program went on: the person answered
        # something, not the program on its own.
        (b"y", "unknown"),
    ],
)
def test_text_after_a_question_answered_at_the_terminal_keeps_the_terminals_answer(
    controller, typed, outcome
):
    c = controller(Program(b""))
    c.on_prompt(prompt_row(seq=1, risk="high"))
    c.hand_over_states()
    c.on_terminal_input(typed)
    c.on_program_went_on(1)
    wait_until_answered(c)
    assert [(a["by"], a["outcome"]) for a in c.answers] == [("terminal", outcome)]


def test_a_hooks_prompt_stays_whatever_its_screen_prints(controller):
    decided = []
    c = controller(Program(b""))
    c.on_resolvable_prompt(prompt_row(seq=1, risk="high"), lambda verb, by: decided.append(verb))
    c.hand_over_states()
    c.on_program_went_on(1)
    assert c.is_waiting() and decided == []
