"""The extraction off the reader's path: its loop with a real Pipeline, and the real forked process."""

import threading

from extraction.engine import Extractor, load_rules
from sessions.pipeline import Pipeline
from sessions.tap.extraction_process import ExtractionProcess, run_extraction

RULES = load_rules(None)


def pipeline(screen=None) -> Pipeline:
    return Pipeline(
        agent_name="t",
        started_at=0.0,
        extractor=Extractor(RULES, input_redacted=True),
        screen=screen,
    )


def run(messages: list[list[tuple]]) -> list[tuple]:
    """The child's loop over these batches, in this process; what it replied, flattened."""
    batches = iter(messages)
    replies: list[tuple] = []
    run_extraction(pipeline(), lambda: next(batches, None), replies.extend)
    return replies


def test_rows_come_back_numbered_and_an_idle_point_is_answered_after_its_prompt():
    replies = run(
        [
            [("feed", 0.1, "ERROR: disk full\n"), ("feed", 0.2, "Delete it? [y/N] ")],
            [("idle", 1)],
            [("close",)],
        ]
    )
    kinds = [r[0] for r in replies]
    assert kinds == ["rows", "idle_done", "closed"]
    assert [(r["seq"], r["event_type"]) for r in replies[0][1]] == [(1, "error"), (2, "prompt")]
    assert replies[1] == ("idle_done", 1, 1)
    assert replies[-1] == ("closed", 2, 2)  # the unfinished last line counts at the end


def test_events_from_another_channel_are_numbered_with_the_outputs():
    from extraction.engine import Event

    hook_event = Event("prompt", "hook", "info", "high", False, 1, 1, "Bash: rm -rf build")
    replies = run([[("feed", 0.1, "ERROR: disk full\n"), ("events", [hook_event])], [("close",)]])
    seqs = [r["seq"] for kind, rows, *_ in replies if kind == "rows" for r in rows]
    assert seqs == [1, 2]


def test_a_close_without_output_reports_nothing_found():
    assert run([[("close",)]]) == [("closed", 0, 0)]


def test_the_loop_stops_when_the_tap_goes_away():
    # No "closed": the loop ends at the end of its input, with what it had found so far sent.
    replies = run([[("feed", 0.1, "ERROR: disk full\nWARNING: low memory\nok\n")]])
    assert [r[0] for r in replies] == ["rows"]


def test_the_forked_process_extracts_while_the_caller_only_sends():
    extraction = ExtractionProcess(pipeline(), niceness=0)
    extraction.start()
    routed: list[dict] = []
    prompt_routed = threading.Event()

    def on_rows(rows):
        routed.extend(rows)
        if any(r["event_type"] == "prompt" for r in rows):
            prompt_routed.set()

    extraction.listen(on_rows=on_rows)
    for i in range(2000):
        extraction.feed(i / 1000, f"line {i}\nWARNING: low disk {i}\n")
    extraction.feed(2.0, "Overwrite? [y/N] ")
    extraction.idle()
    assert prompt_routed.wait(60)
    # The prompt's rows were routed before its idle point was acknowledged.
    assert routed[-1]["event_type"] == "prompt"
    assert extraction.sync(60) == 4000
    assert extraction.caught_up()
    seq, lines = extraction.close(60)
    assert (seq, lines) == (2001, 4001)
    assert [r["seq"] for r in routed] == list(range(1, 2002))
    assert not extraction.dead


def test_a_terminal_query_is_answered_from_the_screen_after_the_output_before_it():
    from sessions.screen import ScreenAnalyzer

    extraction = ExtractionProcess(pipeline(ScreenAnalyzer(80, 24)), answer_queries=True)
    extraction.start()
    answers = []
    got = threading.Event()
    extraction.listen(
        on_rows=lambda rows: None, on_input=lambda data: (answers.append(data), got.set())
    )
    extraction.feed(0.1, "abc\r\nde")
    extraction.query(b"\x1b[6n")
    assert got.wait(60)
    assert answers == [b"\x1b[2;3R"]
    extraction.close(60)


def test_a_dead_extraction_process_does_not_hold_the_tap():
    import os
    import signal

    extraction = ExtractionProcess(pipeline())
    extraction.start()
    extraction.listen(on_rows=lambda rows: None)
    os.kill(extraction.pid, signal.SIGKILL)
    extraction.idle()
    assert extraction.close(60) == (0, 0)
    assert extraction.dead and extraction.caught_up()


def test_errors_and_warnings_come_back_with_their_fingerprints_for_the_writer():
    from extraction.engine.fingerprint import ROW_KEY, fingerprint

    replies = run([[("feed", 0.1, "ERROR: job 7 failed\nWARNING: disk 91% full\nloss=0.5\n")]])
    rows = replies[0][1]
    assert [r["event_type"] for r in rows] == ["error", "warning", "metric"]
    for row in rows[:2]:
        expected = fingerprint(row["event_type"], row["rule"], row["content"], row["metadata"])
        assert row[ROW_KEY] == expected
    assert ROW_KEY not in rows[2]  # metrics are not grouped
