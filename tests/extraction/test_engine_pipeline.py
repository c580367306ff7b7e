"""The engine's Pipeline: output chunks in, numbered rows out, as tap, extract, import_cast and
recover all run it."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extraction.engine import IDLE_SECONDS, Pipeline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"


def test_rows_are_numbered_and_dated_by_the_clock_given():
    pipeline = Pipeline(started_at=1_700_000_000.0)
    rows = pipeline.feed(2.5, "building\nerror: linker failed\n") + pipeline.close()
    [row] = rows
    assert (row["seq"], row["event_type"], row["line_start"]) == (1, "error", 2)
    assert row["offset_seconds"] == 2.5
    assert row["timestamp"] == datetime.fromtimestamp(1_700_000_002.5, tz=UTC)


def test_each_call_hands_over_its_own_rows_and_on_events_gets_them_too():
    seen: list[dict] = []
    pipeline = Pipeline(on_events=seen.extend)
    handed: list[list[dict]] = []
    for offset, text in enumerate(["error: one\n", "fine\n", "error: two\n", "fine\n"]):
        rows = pipeline.feed(float(offset), text)
        handed.append(list(rows))
        rows.append("the caller's own")  # an empty hand-over is a new list, too
    handed.append(pipeline.close())
    assert [r["seq"] for rows in handed for r in rows] == [1, 2]
    assert [r["seq"] for r in seen] == [1, 2]


def test_an_agent_stream_after_a_line_of_text_is_read_as_the_agents_events():
    stream = (FIXTURES / "agent_streams" / "codex_exec.jsonl").read_text()
    pipeline = Pipeline()
    rows = pipeline.feed(0.0, "Reading additional input from stdin...\n")
    for start in range(0, len(stream), 100):  # lines split across chunks
        rows += pipeline.feed(0.1, stream[start : start + 100])
    rows += pipeline.close()
    assert len(rows) == 12
    assert "agent_retry" in {r["rule"] for r in rows}


def test_a_secret_split_across_chunks_is_redacted_before_recording_and_rules():
    class Recorder:
        def __init__(self):
            self.text = ""
            self.markers: list[str] = []

        def output(self, offset, text):
            self.text += text

        def marker(self, offset, label):
            self.markers.append(label)

        def flush(self):
            pass

    recorder = Recorder()
    pipeline = Pipeline(recorder=recorder)
    rows = pipeline.feed(0.0, f"Error: bad key {SECRET[:12]}")
    rows += pipeline.feed(0.05, f"{SECRET[12:]}\n") + pipeline.close()
    assert SECRET not in recorder.text and SECRET[:12] not in recorder.text
    [row] = rows
    assert SECRET[:12] not in row["content"]
    assert recorder.markers == [f"error: {row['content'].splitlines()[0]}"]


def test_a_question_waiting_for_its_answer_is_a_prompt_at_the_idle_point():
    pipeline = Pipeline()
    assert pipeline.feed(0.0, "Delete the build folder? [y/N] ") == []
    [prompt] = pipeline.idle()
    assert (prompt["event_type"], prompt["rule"]) == ("prompt", "prompt_yes_no")
    assert pipeline.close() == []  # the same question is not asked twice


def _recorded(cast: Path) -> tuple[tuple[int, int], list[tuple[float, str]]]:
    """The terminal's size and the output chunks of a recording."""
    header, *rows = (json.loads(line) for line in cast.read_text().splitlines())
    return (header["width"], header["height"]), [(t, d) for t, kind, d in rows if kind == "o"]


@pytest.mark.parametrize(
    "cast", ["aider-0.86.2-shell-command.cast", "aider-0.86.2-shell-command-redraw.cast"]
)
def test_aiders_question_is_one_prompt_wherever_the_program_went_quiet(cast):
    # The line view sees the question as its line ends (no command: it stands a line above),
    # the screen sees it with its command, an idle earlier or later, and prompt_toolkit's
    # redraw may complete a line between the two: whatever the idle points, one prompt.
    size, chunks = _recorded(FIXTURES / "real_agents" / cast)
    last = range(max(0, len(chunks) - 5), len(chunks))
    for idle_after in itertools.chain.from_iterable(
        itertools.combinations(last, n) for n in range(len(last) + 1)
    ):
        pipeline = Pipeline(screen_size=size)
        rows = []
        for i, (offset, text) in enumerate(chunks):
            rows += pipeline.feed(offset, text)
            if i in idle_after:
                rows += pipeline.idle()
        rows += pipeline.close()
        prompts = [r for r in rows if r["event_type"] == "prompt"]
        assert len(prompts) == 1, (idle_after, [(p["rule"], p["line_start"]) for p in prompts])
        assert "Run shell command?" in prompts[0]["content"]


@pytest.mark.parametrize(
    "cast", ["aider-0.86.2-shell-command.cast", "aider-0.86.2-shell-command-redraw.cast"]
)
def test_aiders_question_carries_its_command_at_the_recorded_idle_points(cast):
    # Where the program really went quiet (a gap of IDLE_SECONDS, and the end), the one prompt
    # is the screen's, with the command whose risk decides it: the line view's question waits
    # for that look instead of being reported first without it. It is waited at, whatever
    # prompt_toolkit redraws: nothing says the program went past it.
    size, chunks = _recorded(FIXTURES / "real_agents" / cast)
    passed: list[int] = []
    pipeline = Pipeline(screen_size=size, on_prompt_passed=passed.append)
    rows = []
    for (offset, text), after in zip(chunks, [*chunks[1:], (float("inf"), "")], strict=True):
        rows += pipeline.feed(offset, text)
        if after[0] - offset >= IDLE_SECONDS:
            rows += pipeline.idle()
    rows += pipeline.close()
    [prompt] = [r for r in rows if r["event_type"] == "prompt"]
    assert prompt["rule"] == "aider_confirm" and prompt["metadata"]["command"]
    assert "program_went_on" not in prompt["metadata"] and passed == []


# --- a question the program printed past: it did not wait there ------------------------------


def prompts_of(rows: list[dict]) -> list[tuple[int, bool]]:
    return [
        (r["seq"], bool(r["metadata"].get("program_went_on")))
        for r in rows
        if r["event_type"] == "prompt"
    ]


def test_a_question_with_text_after_it_in_the_same_output_is_marked_passed():
    passed: list[int] = []
    pipeline = Pipeline(on_prompt_passed=passed.append)
    rows = pipeline.feed(0.0, "Proceed (Y/n)?\nstep 1: applying patch\nProceed (Y/n)?\n")
    # The first had text after it before it was found; the second may be waited at: that is
    # known at the idle point.
    assert prompts_of(rows) == [(1, True)]
    assert prompts_of(pipeline.idle()) == [(2, False)]
    assert pipeline.feed(0.5, "\n  \n") == [] and passed == []  # blank lines are no answer
    pipeline.feed(1.0, "step 2: applying patch\n")
    assert passed == [2]
    pipeline.feed(2.0, "step 3\n")
    pipeline.close()
    assert passed == [2]  # said once


def test_a_question_ending_the_output_is_held_until_the_program_goes_quiet_or_on():
    # The extraction may be seconds behind a program that printed its question and went on:
    # the question is not reported as waited at before the idle point says it is.
    passed: list[int] = []
    pipeline = Pipeline(on_prompt_passed=passed.append)
    assert pipeline.feed(0.0, "build ok\nProceed (Y/n)?\n") == []
    rows = pipeline.feed(0.01, "step 1: applying patch\n")
    assert prompts_of(rows) == [(1, True)]
    rows = pipeline.feed(0.02, "Proceed (Y/n)?\n") + pipeline.close()
    assert prompts_of(rows) == [(2, False)]  # the output ended at it
    assert passed == []


def test_a_question_waited_at_is_passed_by_the_first_text_after_its_line():
    passed: list[int] = []
    pipeline = Pipeline(on_prompt_passed=passed.append)
    pipeline.feed(0.0, "Delete the build folder? [y/N] ")
    [prompt] = pipeline.idle()
    assert not prompt["metadata"].get("program_went_on")
    pipeline.feed(2.0, "y\n")  # the answer's echo ends the question's own line
    assert passed == []
    pipeline.feed(2.1, "removed build/\n")
    assert passed == [prompt["seq"]]


def test_in_a_terminal_a_question_with_text_after_it_is_marked_passed():
    passed: list[int] = []
    pipeline = Pipeline(screen_size=(80, 24), on_prompt_passed=passed.append)
    rows = pipeline.feed(0.0, "Proceed (Y/n)?\r\nstep 1\r\nstep 2\r\n")
    rows += pipeline.close()
    assert prompts_of(rows) == [(1, True)]


# --- settle points: a short pause finishes a block that stands complete ------------------------


def rules_of(rows: list[dict]) -> list[str]:
    return [row["rule"] for row in rows]


@pytest.mark.parametrize(
    "line",
    [
        "ERROR: bench 1 1234",
        "2026-01-01 10:00:00 ERROR app: failed to connect",
        "src/a.c:3:5: error: expected ';'",
        "npm ERR! code E404",
    ],
)
def test_a_lone_error_line_is_an_event_at_the_settle_point_not_at_idle(line):
    pipeline = Pipeline()
    assert pipeline.feed(0.0, line + "\n") == []  # its stack or caret might still follow
    [row] = pipeline.settle()
    assert row["content"] == line
    assert pipeline.close() == []


def test_a_traceback_settles_once_it_has_its_exception_line_not_among_its_frames():
    pipeline = Pipeline()
    pipeline.feed(0.0, 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n')
    assert pipeline.settle() == []  # mid-way: the frames go on
    pipeline.feed(0.5, "ValueError: bad\n")
    [row] = pipeline.settle()
    assert row["rule"] == "python_traceback"
    assert row["content"].splitlines()[-1] == "ValueError: bad"


def test_nothing_settles_while_a_line_is_unfinished_or_a_code_fence_is_open():
    pipeline = Pipeline()
    pipeline.feed(0.0, "ERROR: disk full\nretrying in")
    assert pipeline.settle() == []  # the next line has begun: it may continue the error
    # It did not: the error went out with that line.
    assert rules_of(pipeline.feed(0.1, " 5s\n")) == ["log_error"]
    fenced = Pipeline()
    fenced.feed(0.0, "```python\nprint(1)\n")
    assert fenced.settle() == []  # models stream fences slowly
    assert rules_of(fenced.close()) == ["code_fence"]


def test_a_replay_settles_where_the_recording_paused_as_the_live_reader_did():
    from extraction.engine import SETTLE_SECONDS
    from extraction.engine.pipeline import Chunk, replay

    def events(pause: float) -> list[tuple[str, int]]:
        chunks = [
            Chunk(0.0, "o", "2026-01-01 10:00:00 ERROR app: failed\n"),
            Chunk(pause, "o", "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:10)\n"),
            Chunk(pause + 1.0, "o", "done\n"),
        ]
        rows = [row for rows in replay(Pipeline(), chunks) for row in rows]
        return [(row["rule"], row["line_end"] - row["line_start"] + 1) for row in rows]

    # Written together (a logger prints record and stack at once): one event with its stack.
    assert events(SETTLE_SECONDS / 4) == [("log_error", 3)]
    # A pause between them: the record settled alone; the stack is an event of its own.
    assert events(SETTLE_SECONDS * 2) == [("log_error", 1), ("java_exception", 2)]
