"""Is the wrapped program held back? Its own completion time under each recorder (issue 19, item 1).

    .venv/bin/python bench/bench_program_time.py [--lines 1000000] [--repeat 5] [--inputs bench,heavy]

The wrapped program (bench/emit_timed.py) copies the input to its stdout 64 KiB at a time and
writes down when it started and when its last write() returned. Its completion time is that
interval, measured by the program itself: what a user waits for before their program is done.
The runs are interleaved (one of each in turn, `--repeat` rounds) and the tables show medians:

- direct        `emit > /dev/null` (the floor)
- cat|tee       `emit | tee OUT > /dev/null`
- asciinema     `asciinema rec -c "emit" OUT.cast` (the peer; its own pseudo-terminal)
- tap-pipe      `manage.py tap --pipe --no-live -- emit` (SQLite, a fresh migrated data dir)
- tap-pty       the same with `--pty`

Also shown: each run's whole wall time (the tap's: until every event is committed; issue 19,
item 2). Inputs: `bench` is bench_tap's 1M-line file (~41k events); `heavy` is
/work/shared/bench/gen_heavy_log.py's (~6 % event lines, ~8,500 `Proceed (Y/n)?` prompts),
generated once into the bench cache (or `--heavy FILE`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BIN, MANAGE, PYTHON, ROOT, clean_env, generated_input, loadavg  # noqa: E402

EMIT = str(Path(__file__).resolve().with_name("emit_timed.py"))
RUNS = ("direct", "cat|tee", "asciinema", "tap-pipe", "tap-pty")
HEAVY_GENERATOR = Path(
    os.environ.get("STREAMTAP_HEAVY_GENERATOR", "/work/shared/bench/gen_heavy_log.py")
)
TARGET_PROGRAM = 1.1  # × asciinema rec, the program's own completion time
TARGET_END = {"bench": 2.0, "heavy": 3.0}  # × asciinema rec, the tap's own end


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--inputs", default="bench,heavy")
    parser.add_argument("--heavy", default="", help="the heavy input file (default: generated)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(RUNS)}")
    return parser.parse_args()


def heavy_input(lines: int) -> Path:
    directory = Path(os.environ.get("STREAMTAP_BENCH_CACHE", "/tmp/streamtap-bench-input"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"heavy-{lines}.txt"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as out:
            subprocess.run(
                [sys.executable, str(HEAVY_GENERATOR), str(lines)], stdout=out, check=True
            )
        tmp.rename(path)
    return path


def fresh_data_dir(scratch: Path, name: str) -> Path:
    data = scratch / name
    data.mkdir()
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    subprocess.run(
        [PYTHON, MANAGE, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    return data


def one_run(kind: str, src: Path, scratch: Path, i: int) -> dict:
    stamp = scratch / f"stamp-{kind.replace('|', '-')}-{i}"
    emit = [PYTHON, "-S", EMIT, str(src), str(stamp)]
    env = None
    if kind == "direct":
        argv = emit
    elif kind == "cat|tee":
        argv = ["sh", "-c", f"{shlex.join(emit)} | tee {shlex.quote(str(scratch / 'tee.out'))}"]
    elif kind == "asciinema":
        out = scratch / "asciinema.cast"
        argv = [
            str(BIN / "asciinema"),
            "rec",
            "-q",
            "--overwrite",
            "-c",
            shlex.join(emit),
            str(out),
        ]
    else:
        data = fresh_data_dir(scratch, f"{kind}-{i}")
        env = clean_env(STREAMTAP_DATA_DIR=str(data))
        mode = "--pty" if kind == "tap-pty" else "--pipe"
        argv = [PYTHON, MANAGE, "tap", mode, "--no-live", "--", *emit]
    with open(os.devnull, "rb") as devnull_in, open(os.devnull, "wb") as devnull_out:
        launched = time.time()
        proc = subprocess.run(
            argv, stdin=devnull_in, stdout=devnull_out, stderr=subprocess.PIPE, env=env, cwd=ROOT
        )
        ended = time.time()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    start, end = (float(x) for x in stamp.read_text().split())
    return {"program": end - start, "to_last_byte": end - launched, "wall": ended - launched}


def measure(src: Path, kinds: list[str], repeat: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="st-bench-program-") as scratch:
        for i in range(repeat):
            for kind in kinds:  # interleaved: the machine's drift hits every peer alike
                results[kind].append(one_run(kind, src, Path(scratch), i))
                for p in Path(scratch).glob("tap-*"):
                    shutil.rmtree(p, ignore_errors=True)
    return results


def report(name: str, src: Path, results: dict[str, list[dict]], repeat: int) -> list[str]:
    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    size_mb = src.stat().st_size / 1e6
    lines = [
        f"### {name} input ({size_mb:.0f} MB, {repeat} interleaved runs, medians; "
        f"load before: {loadavg()})",
        "",
        "| run | program's own completion s | vs asciinema | launch → last byte s | whole run s | vs asciinema |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ref = "asciinema" in results
    for kind in results:
        program, wall = med(kind, "program"), med(kind, "wall")
        vs_p = f"{program / med('asciinema', 'program'):.2f}×" if ref else "–"
        vs_w = f"{wall / med('asciinema', 'wall'):.2f}×" if ref else "–"
        lines.append(
            f"| {kind} | {program:.2f} | {vs_p} | {med(kind, 'to_last_byte'):.2f} | {wall:.2f} | {vs_w} |"
        )
    lines.append("")
    if ref:
        for kind in ("tap-pipe", "tap-pty"):
            if kind not in results:
                continue
            ratio = med(kind, "program") / med("asciinema", "program")
            ok = "✓" if ratio <= TARGET_PROGRAM else "✗"
            lines.append(
                f"- {name} input, {kind}: the program's own completion {ratio:.2f}× "
                f"asciinema rec's (target ≤ {TARGET_PROGRAM}×) {ok}"
            )
            end = med(kind, "wall") / med("asciinema", "wall")
            target = TARGET_END.get(name, 2.0)
            ok = "✓" if end <= target else "✗"
            lines.append(
                f"- {name} input, {kind}: the tap's own end {end:.2f}× asciinema rec's "
                f"(target ≤ {target}×) {ok}"
            )
        lines.append("")
    return lines


def main() -> None:
    args = parse_args()
    kinds = [k for k in RUNS if not args.only or k in args.only.split(",")]
    out: list[str] = []
    for name in args.inputs.split(","):
        if name == "bench":
            src = generated_input(args.lines)
        else:
            src = Path(args.heavy) if args.heavy else heavy_input(args.lines)
        results = measure(src, kinds, args.repeat)
        out += report(name, src, results, args.repeat)
        print("\n".join(out[-(len(kinds) + 8) :]), flush=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
