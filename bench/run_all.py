"""Run every benchmark in bench/ and rewrite docs/benchmarks.md with their figures.

    .venv/bin/python bench/run_all.py [--only tap,live] [--skip api] [--quick] [--no-write]
    make bench

Each benchmark runs as its own process with a timeout; its output is kept as it printed it
(markdown tables pass through, plain lines go into a code block). The page starts with the
machine the figures come from (CPU, cores, memory, Python, load average), then a summary of
every line that states a target (✓ met, ✗ missed), then one section per benchmark.

Load matters: the ratios (tap vs asciinema, inserter vs bulk_create) are measured against peers
in the same run and hold up better than absolute figures when the machine is busy; the load
average before each benchmark is recorded beside it. `--quick` shrinks every input for a smoke
test (figures not comparable with the targets; the page says so).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, ROOT, loadavg, machine  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"


@dataclass
class Bench:
    name: str
    script: str
    args: list[str]
    quick_args: list[str]
    timeout: int
    what: str
    targets: str


BENCHES = [
    Bench(
        "extractor",
        "bench_extractor.py",
        [],
        ["--lines", "100000"],
        300,
        "The extractor engine and the redactor alone, 1M generated lines in 64 KiB chunks.",
        "(none of its own; the tap's throughput target depends on it)",
    ),
    Bench(
        "accuracy",
        "score_extractor.py",
        [],
        [],
        300,
        "The extractor against the labelled corpus in `tests/corpus/` (see its README): strict "
        "span overlap, one event per labelled span; `heldout` holds the formats' variants and "
        "another seed, never used to tune the rules.",
        "F1 ≥ 0.95, every type ≥ 0.90, precision ≥ 0.97, ≤ 1 false event per 1,000 negative "
        "lines (issue 16)",
    ),
    Bench(
        "persist",
        "bench_persist.py",
        ["--events", "100000"],
        ["--events", "10000"],
        1200,
        "Event rows through `EventInserter` (what the tap's writer uses) vs Django "
        "`bulk_create`, batches of 100 and 1,000, fresh SQLite (WAL) and PostgreSQL databases; "
        "on SQLite also the engine alone (the same INSERTs, parameters built beforehand), with "
        "the model's indexes and without them; PostgreSQL through COPY; "
        "100,000 rows each here to keep `make bench` short (`bench/bench_persist.py` alone "
        "defaults to 200,000).",
        "≥ 40,000 events/s into SQLite with the API's indexes, ≥ 80,000 into PostgreSQL "
        "through COPY (issue 19.4)",
    ),
    Bench(
        "persist-profile",
        "profile_persist_postgres.py",
        ["--events", "100000"],
        ["--events", "10000"],
        600,
        "Where the PostgreSQL inserter's time goes (the `persist` line `postgres · inserter · "
        "1,000`): this process's CPU against the server backend's, read from /proc, and each "
        "statement's wall time.",
        "(none of its own: it names the cost of the missed PostgreSQL target, issue 19.4)",
    ),
    Bench(
        "tap",
        "bench_tap.py",
        # Five interleaved runs: with two, this machine's swings moved the ratio by ±15 %.
        ["--repeat", "5"],
        ["--lines", "100000", "--repeat", "1"],
        1500,
        "The whole tap (record + extract + persist) on 1M lines of ~95 bytes (~5% events) "
        "against `cat`, `cat | tee` and `asciinema rec` in the same run; `tap-record` is the "
        "tap with every rule disabled (recording and redaction only), for reference.",
        "no slower than `asciinema rec`; peak RSS ≤ 100 MB (issue 2)",
    ),
    Bench(
        "program",
        "bench_program_time.py",
        ["--repeat", "5"],
        ["--lines", "100000", "--repeat", "1"],
        2400,
        "Is the wrapped program held back? Its own completion time (it writes down when its "
        "last write() returned) under `tap --pipe`/`--pty` against `asciinema rec`, `cat | tee` "
        "and no recorder, interleaved, on the bench input and the heavy one "
        "(`gen_heavy_log.py 1000000`); also each run's whole time (the tap's: every event "
        "stored).",
        "the program ≤ 1.1× its time under `asciinema rec`; the tap's end ≤ 2.0× (bench) and "
        "≤ 3.0× (heavy) `asciinema rec`'s (issue 19, items 1–2)",
    ),
    Bench(
        "profile",
        "profile_tap.py",
        [],
        ["--lines", "100000"],
        900,
        "Where the tap's time goes, on the `program` benchmark's inputs and program: the CPU "
        "of each of its processes (read from /proc every 10 ms), how busy the cores were, and "
        "each process's top functions while it holds the interpreter lock (py-spy).",
        "(none of its own: it names the cost of the missed targets of issue 19, item 2)",
    ),
    Bench(
        "scale",
        "bench_scale.py",
        [],
        ["--sizes", "10000,100000"],
        2400,
        "One tap over 10 k, 100 k, 1 M and 10 M lines of the bench input (to its end: every "
        "event committed): per-line CPU as the session grows, and what the SQLite file holds.",
        "events/s per tap flat from 10 k to 10 M lines; the SQLite file for 10 M lines within "
        "2× its raw event text (issue 19.5)",
    ),
    Bench(
        "live",
        "bench_live.py",
        # A sustained minute at 1,000 events/s: issue 19.3's memory bound is for 60 s.
        ["--rates", "10:20,1000:60"],
        ["--rates", "10:5,1000:3"],
        1500,
        "Print → event shown in the session page (headless Chromium, MutationObserver), "
        "real daphne and tap, default layer and Redis; 1,000 events/s sustained for a minute.",
        "10 ev/s: p95 ≤ 10 ms; 1,000 ev/s: p95 ≤ 150 ms with every event shown; the tap's "
        "processes ≤ 100 MB (issues 3 and 19.3)",
    ),
    Bench(
        "api",
        "bench_api.py",
        [
            "--events",
            "1000000",
            "--data-dir",
            "/tmp/streamtap-bench-api-1m",
            "--iterations",
            "30",
            "--no-plans",
        ],
        [
            "--events",
            "20000",
            "--data-dir",
            "/tmp/streamtap-bench-api-20k",
            "--iterations",
            "10",
            "--no-plans",
        ],
        1200,
        "API latency in process (Django test client, token auth) over a generated SQLite "
        "database of 1,000,000 events (generated once, ~2 min, then reused from /tmp).",
        "list p95 ≤ 50 ms, stats p95 ≤ 200 ms",
    ),
    Bench(
        "replay",
        "bench_replay.py",
        [],
        ["--lines", "100000", "--seeks", "30"],
        900,
        "Replay of a 1-hour, 1M-line recording: first frame and seek, index and HTTP.",
        "first frame ≤ 500 ms, seek ≤ 500 ms (issue 5)",
    ),
]


def parse_args() -> argparse.Namespace:
    names = ", ".join(b.name for b in BENCHES)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {names}")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--output", default=str(DOC))
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args()


@dataclass
class Outcome:
    bench: Bench
    argv: list[str]
    output: str
    returncode: int | None
    seconds: float
    load_before: str
    started: str


def run(bench: Bench, quick: bool) -> Outcome:
    argv = [
        PYTHON,
        str(ROOT / "bench" / bench.script),
        *(bench.quick_args if quick else bench.args),
    ]
    load, when = loadavg(), time.strftime("%Y-%m-%d %H:%M")
    print(f"== {bench.name}: {' '.join(argv[1:])} (load {load})", flush=True)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=bench.timeout,
        )
        output, code = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.output or ""
        output = (out.decode(errors="replace") if isinstance(out, bytes) else out) + (
            f"\n[timed out after {bench.timeout} s]\n"
        )
        code = None
    seconds = time.monotonic() - started
    print(output, flush=True)
    print(f"== {bench.name}: exit {code}, {seconds:.0f} s\n", flush=True)
    return Outcome(bench, argv, output, code, seconds, load, when)


MARKDOWN = re.compile(r"^(\||#{1,6} |- )")


def as_markdown(output: str) -> list[str]:
    """Markdown lines pass through (headings one level down); the rest goes in code blocks."""
    lines, plain = [], []

    def flush_plain():
        while plain and not plain[-1].strip():
            plain.pop()
        if plain:
            lines.extend(["```", *plain, "```", ""])
        plain.clear()

    for raw in output.splitlines():
        line = raw.rstrip()
        if MARKDOWN.match(line):
            flush_plain()
            if line.startswith("#"):
                line = "### " + line.lstrip("#").strip()
                lines.append("")
            lines.append(line)
        elif not line and not plain:
            if lines and lines[-1] != "":
                lines.append("")
        else:
            if lines and lines[-1].startswith("|") and not plain:
                lines.append("")
            plain.append(line)
    flush_plain()
    return lines


def verdicts(output: str) -> list[tuple[str, bool]]:
    """Every line of a benchmark's output that states a target, with met (✓) or missed (✗)."""
    found = []
    for line in output.splitlines():
        if "✓" not in line and "✗" not in line:
            continue
        # A line with several marks is met only when none of them is missed.
        ok = "✗" not in line
        text = line.strip().lstrip("-").strip()
        if text.startswith("|"):
            cells = [c.strip() for c in text.strip("|").split("|")]
            text = " · ".join(c for c in cells if c)
        verdict = (text.replace("✓", "").replace("✗", "").strip(" ·"), ok)
        if verdict not in found:  # a script may print its verdicts again in a closing summary
            found.append(verdict)
    return found


def render(outcomes: list[Outcome], info: dict, quick: bool, total: float, kept: dict) -> str:
    """The whole page; `kept` holds earlier sections (name -> (target rows, section lines))."""
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run_all.py`); every figure below comes from the run "
        "described here. Re-run it rather than editing this page. Ratios are against peers "
        "measured in the same run. Where a target is missed, a profile from the same run "
        "names the remaining cost: `profile` (the tap's end, issue 19 item 2), "
        "`persist-profile` (PostgreSQL, item 4) and `scale`'s bytes per table, index and "
        "column (the file's size, item 5); [tap-performance.md](tap-performance.md) holds the "
        "analysis behind them.",
        "",
    ]
    if quick:
        out += ["**Quick run (`--quick`): small inputs, not comparable with the targets.**", ""]
    out += [
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {info['cpu']} |",
        f"| cores (nproc) | {info['nproc']} |",
        f"| memory | {info['memory']} |",
        f"| kernel | {info['kernel']} |",
        f"| Python | {info['python']} (SQLite {info['sqlite']}) |",
        f"| date | {info['date']} |",
        f"| load average at start (1/5/15 min) | {info['load']} |",
        f"| run time | {total / 60:.1f} min |",
        "",
    ]
    if info["nproc"] and _load1(info["load"]) > info["nproc"]:
        out += [
            f"The machine was busy (load above its {info['nproc']} cores: other work ran at the "
            "same time), so absolute times are pessimistic; compare the ratios and CPU times.",
            "",
        ]
    if kept:
        out += [
            f"Sections marked *earlier run* ({', '.join(kept)}) were kept from the previous "
            "page (`--only` re-ran the others); each section gives its own date and load.",
            "",
        ]
    by_name = {o.bench.name: o for o in outcomes}
    targets, sections = [], []
    for b in BENCHES:
        if b.name in kept:
            targets += kept[b.name][0]
            sections += kept[b.name][1]
        elif b.name in by_name:
            targets += target_rows(b, by_name[b.name])
            sections += section_lines(b, by_name[b.name])
    out += ["## Targets", "", "| benchmark | figure | met |", "|---|---|---|", *targets, ""]
    out += sections
    while out and not out[-1]:
        out.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out) + "\n")


def target_rows(b, o) -> list[str]:
    """A benchmark's rows of the targets table: its verdict lines, or where to read its figures."""
    found = verdicts(o.output)
    rows = []
    if o.returncode != 0:
        rows.append(f"| {b.name} | did not finish (exit {o.returncode}) | ✗ |")
    rows += [f"| {b.name} | {text} | {'✓' if ok else '✗'} |" for text, ok in found]
    if not found and o.returncode == 0:
        rows.append(f"| {b.name} | target: {b.targets}; see below | – |")
    return rows


def section_lines(b, o) -> list[str]:
    return [
        f"<!-- bench:{b.name} -->",
        f"## {b.name}",
        "",
        b.what,
        "",
        f"- command: `{' '.join(['bench/' + b.script, *o.argv[2:]])}`",
        f"- target: {b.targets}",
        f"- run {o.started}, load average before {o.load_before}; took {o.seconds:.0f} s; "
        f"exit {o.returncode}",
        "",
        *as_markdown(o.output),
        "",
        f"<!-- /bench:{b.name} -->",
        "",
    ]


def earlier_sections(path: Path, names: set[str]) -> dict:
    """Target rows and sections of `names` from an earlier page written by this script."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    kept = {}
    table = re.search(r"^## Targets\n(.*?)(?=^<!-- bench:|\Z)", text, re.S | re.M)
    targets_table = table.group(1) if table else ""
    for name in names:
        section = re.search(
            rf"^<!-- bench:{re.escape(name)} -->\n.*?^<!-- /bench:{re.escape(name)} -->$",
            text,
            re.S | re.M,
        )
        if not section:
            continue
        lines = section.group(0).splitlines()
        if not lines[1].endswith("(*earlier run*)"):
            lines[1] += " (*earlier run*)"
        # From the targets table only: a section's own tables may have a row named like it.
        rows = [
            line.replace(f"| {name} |", f"| {name} (earlier run) |", 1)
            if "(earlier run)" not in line
            else line
            for line in targets_table.splitlines()
            if line.startswith(f"| {name} |") or line.startswith(f"| {name} (earlier run) |")
        ]
        kept[name] = (rows, [*lines, ""])
    return kept


def _load1(load: str) -> float:
    try:
        return float(load.split()[0])
    except (ValueError, IndexError):
        return 0.0


def main() -> None:
    args = parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    known = {b.name for b in BENCHES}
    if (only | skip) - known:
        sys.exit(f"unknown benchmarks: {', '.join(sorted((only | skip) - known))}")
    selected = [b for b in BENCHES if (not only or b.name in only) and b.name not in skip]
    info = machine()
    print(f"machine: {info}", flush=True)
    started = time.monotonic()
    outcomes = [run(b, args.quick) for b in selected]
    # With --only/--skip the other benchmarks keep their sections from the previous page.
    kept = {}
    if (only or skip) and not args.quick:
        kept = earlier_sections(Path(args.output), known - {b.name for b in selected})
    page = render(outcomes, info, args.quick, time.monotonic() - started, kept)
    if args.no_write:
        print(page)
    else:
        Path(args.output).write_text(page, encoding="utf-8")
        print(f"wrote {args.output}")
    if any(o.returncode != 0 for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
