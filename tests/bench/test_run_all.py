"""The targets table of docs/benchmarks.md: what bench/run_all.py reads off a benchmark's output."""

from bench.run_all import earlier_sections, verdicts


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


def test_a_rerun_keeps_an_earlier_benchmarks_targets_but_not_rows_of_its_own_tables(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text(
        "\n".join(
            [
                "# Benchmarks",
                "## Targets",
                "| benchmark | figure | met |",
                "|---|---|---|",
                "| tap | tap-pipe no slower than asciinema rec: 2.27 s vs 0.88 s | ✗ |",
                "| live (earlier run) | default · 10 · p95 ≤ 10 ms | ✓ |",
                "",
                "<!-- bench:tap -->",
                "## tap",
                "",
                "| tap | events stored | distinct seq |",
                "|---|---:|---:|",
                "| tap-pipe | 30,136 | 30,136 |",
                "<!-- /bench:tap -->",
                "<!-- bench:live -->",
                "## live (*earlier run*)",
                "<!-- /bench:live -->",
                "",
            ]
        ),
        encoding="utf-8",
    )
    kept = earlier_sections(page, {"tap", "live"})
    assert kept["tap"][0] == [
        "| tap (earlier run) | tap-pipe no slower than asciinema rec: 2.27 s vs 0.88 s | ✗ |"
    ]
    assert kept["live"][0] == ["| live (earlier run) | default · 10 · p95 ≤ 10 ms | ✓ |"]
    assert "| tap | events stored | distinct seq |" in kept["tap"][1]
    assert kept["tap"][1][1] == "## tap (*earlier run*)"
