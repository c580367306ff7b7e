"""The targets table of docs/benchmarks.md: what bench/run_all.py reads off a benchmark's output."""

from bench.run_all import verdicts


def test_a_line_is_met_only_when_none_of_its_marks_is_missed():
    output = "\n".join(
        [
            "- tap-pipe no slower than asciinema rec: 2.84 s vs 1.22 s ✗",
            "- tap-pipe peak RSS ≤ 100 MB: 98.1 MB ✓; the tap's processes together 256.7 MB ✗",
            "- events per CPU-s flat ✓",
            "| default | 10 | p95 ≤ 10 ms ✗ |",
            "a line with no target",
        ]
    )
    assert [ok for _, ok in verdicts(output)] == [False, False, True, False]


def test_a_verdict_printed_again_in_a_closing_summary_is_listed_once():
    line = "- SQLite file within 2× its raw event text ✓"
    assert verdicts(f"{line}\n{line}") == [("SQLite file within 2× its raw event text", True)]
