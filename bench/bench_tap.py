"""The whole tap against its peers: 1M lines of ~95 bytes (~5% events) through cat, tee, asciinema, tap.

    .venv/bin/python bench/bench_tap.py [--lines 1000000] [--repeat 3] [--only tap-pipe,asciinema]

Every run reads the same pre-generated file (bench_extractor's generator) with `cat`, the wrapped
program's output goes to /dev/null, and whatever records writes its own file:

- cat           `cat FILE > /dev/null` (the floor: no recording at all)
- cat|tee       `cat FILE | tee OUT > /dev/null` (records bytes, no timing, no analysis)
- asciinema     `asciinema rec -c "cat FILE" --overwrite OUT.cast` (the peer: records with timing)
- tap-pipe      `manage.py tap --pipe --no-live -- cat FILE` (record + extract + persist, SQLite)
- tap-pty       the same with `--pty`
- tap-record    `tap --pipe` with every built-in rule disabled (`--rules`): passthrough, redaction
                and the recording only, no events. Not a target: it shows what the recording
                costs and so how much of the tap's time is extraction and persistence.

asciinema 2.4 allocates its own pseudo-terminal for the child, so it runs headless (stdin
/dev/null, stdout not a terminal) without `script`. Each tap run gets a fresh, migrated
STREAMTAP_DATA_DIR; migration is not timed, Django's start-up is (it is part of what a user waits
for; `tap -- true` shows how much of it there is). Peak RSS is the process tree's, from wait4().
The runs are interleaved and repeated; the table shows the median wall time (and the best).
Persisted events/s: a read-only poller notes when the first and the last event row became
visible; the writer's throughput is events / that interval (and, conservatively, events / the
tap's whole wall time).

Targets (issue 2): the whole tap no slower than `asciinema rec`; tap peak memory ≤ 100 MB.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BIN,
    MANAGE,
    PYTHON,
    ROOT,
    children_by_parent,
    clean_env,
    generated_input,
    loadavg,
    process_stat,
    pss_kb,
    sqlite_path,
)

TARGET_RSS_MB = 100
WRITER_COMM = "streamtap-db"  # the writer process's name (sessions/writer_process.py)
PUMP_COMM = "streamtap-out"  # the output pump's name (sessions/pty_pump.py)
RUNS = ("cat", "cat|tee", "asciinema", "tap-pipe", "tap-pty", "tap-record")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(RUNS)}")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    return parser.parse_args()


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else ""


def run_measured(
    argv: list[str], env: dict | None = None, poll_db: Path | None = None, tree: bool = False
) -> dict:
    """Run argv with stdin/stdout at /dev/null; wall time, exit code and peak RSS of its tree.

    Peak RSS comes from /usr/bin/time (a small process that forks the command): wait4() here
    would report this Python process's size too, because a child spawned with vfork counts its
    parent's memory until it execs.
    """
    poller = DbPoller(poll_db) if poll_db else None
    rss_file = tempfile.NamedTemporaryFile(prefix="rss-", delete=False)
    rss_file.close()
    command = [TIME, "-q", "-f", "%M %U %S", "-o", rss_file.name, *argv] if TIME else argv
    with open(os.devnull, "rb") as devnull_in, open(os.devnull, "wb") as devnull_out:
        stderr = tempfile.TemporaryFile()
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdin=devnull_in, stdout=devnull_out, stderr=stderr, env=env, cwd=ROOT
        )
        if poller:
            poller.start(started)
        memory = TreeMemory(proc.pid) if tree else None
        if memory:
            memory.start(started)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read().decode(errors="replace")
        stderr.close()
    rss_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    try:
        fields = Path(rss_file.name).read_text().split()
        if TIME and len(fields) >= 3:
            rss_mb, cpu = int(fields[0]) / 1024, float(fields[1]) + float(fields[2])
    except (OSError, ValueError):
        pass
    os.unlink(rss_file.name)
    result = {"wall": wall, "rc": proc.returncode, "rss_mb": rss_mb, "cpu": cpu, "stderr": err}
    if poller:
        result.update(poller.stop())
    if memory:
        result.update(memory.stop())
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {proc.returncode}:\n{err[-2000:]}")
    return result


class TreeMemory:
    """The tap's own memory: the sum of PSS over its processes (the tap, its writer and, in
    PTY mode, the process reading the PTY), the
    wrapped program excluded, sampled every 20 ms; when the wrapped program was done; and the
    CPU time of the tap, its writer and the program apiece (where the time goes).

    PSS, not RSS: the writer is forked from the tap and shares its pages; adding their RSS
    would count those twice. The program (`cat`) is recognised by its command name.
    """

    def __init__(self, root_pid: int, program: str = "cat", interval: float = 0.02):
        self.root, self.program, self.interval = root_pid, program, interval
        self.peak_kb = 0
        self.peak_processes = 0
        self.program_seen = False
        self.program_done_at: float | None = None
        self.cpu: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = children_by_parent()
            stack, mine, program_alive = list(tree.get(self.root, [])), [], False
            while stack:
                pid = stack.pop()
                comm, cpu = process_stat(pid) or ("", None)
                if cpu is not None and comm != "time":
                    # The last sample before a process ends: its CPU, ±1 sampling interval.
                    role = (
                        "program"
                        if comm == self.program
                        else {WRITER_COMM: "writer", PUMP_COMM: "pty pump"}.get(comm, "tap")
                    )
                    self.cpu[(role, pid)] = cpu
                if comm == self.program:
                    program_alive = True
                    continue
                if comm != "time":
                    mine.append(pid)
                stack.extend(tree.get(pid, []))
            total = sum(pss_kb(pid) for pid in mine)
            if total > self.peak_kb:
                self.peak_kb, self.peak_processes = total, len(mine)
            if program_alive:
                self.program_seen = True
            elif self.program_seen and self.program_done_at is None:
                self.program_done_at = time.perf_counter() - self.t0
            self._stop.wait(self.interval)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {
            "pss_mb": self.peak_kb / 1024,
            "pss_processes": self.peak_processes,
            "program_done_at": self.program_done_at,
            "cpu_by_role": {
                role: sum(v for (r, _), v in self.cpu.items() if r == role)
                for role in ("tap", "pty pump", "writer", "program")
            },
        }


class DbPoller:
    """Watches max(id) of extraction_events (read-only) to time when rows became visible."""

    def __init__(self, db: Path, interval: float = 0.05):
        self.db, self.interval = db, interval
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.last_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._thread.start()

    def _run(self) -> None:
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1)
                (top,) = conn.execute(
                    "SELECT coalesce(max(id), 0) FROM extraction_events"
                ).fetchone()
                now = time.perf_counter() - self.t0
                if top and self.first_at is None:
                    self.first_at = now
                if top != self.last_id:
                    self.last_id, self.last_at = top, now
            except sqlite3.Error:
                pass
            self._stop.wait(self.interval)
        if conn:
            conn.close()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"first_event_at": self.first_at, "last_event_at": self.last_at}


def fresh_data_dir(scratch: Path, name: str) -> Path:
    data = scratch / name
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    subprocess.run(
        [PYTHON, MANAGE, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    return data


def tap_stats(data: Path) -> dict:
    conn = sqlite3.connect(f"file:{sqlite_path(data)}?mode=ro", uri=True)
    try:
        sid, pk, lines, total, started, ended, status = conn.execute(
            "SELECT session_id, id, total_lines_processed, total_extraction_events, started_at, "
            "ended_at, status FROM process_sessions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        (stored,) = conn.execute(
            "SELECT count(*) FROM extraction_events WHERE session_id = ?", [pk]
        ).fetchone()
        (distinct,) = conn.execute(
            "SELECT count(DISTINCT seq) FROM extraction_events WHERE session_id = ?", [pk]
        ).fetchone()
    finally:
        conn.close()
    return {
        "session": sid,
        "lines": lines,
        "events_total": total,
        "events_stored": stored,
        "events_distinct": distinct,
        "status": status,
    }


def one_run(kind: str, src: Path, scratch: Path, i: int) -> dict:
    cat = shutil.which("cat") or "/bin/cat"
    if kind == "cat":
        return run_measured([cat, str(src)])
    if kind == "cat|tee":
        out = scratch / "tee.out"
        return run_measured(
            [
                "/bin/sh",
                "-c",
                f"cat {shlex.quote(str(src))} | tee {shlex.quote(str(out))} > /dev/null",
            ]
        )
    if kind == "asciinema":
        out = scratch / "asciinema.cast"
        r = run_measured(
            [
                str(BIN / "asciinema"),
                "rec",
                "-q",
                "-c",
                f"cat {shlex.quote(str(src))}",
                "--overwrite",
                str(out),
            ],
            env=clean_env(),
        )
        r["recording_mb"] = out.stat().st_size / 1e6
        return r
    mode = "--pty" if kind == "tap-pty" else "--pipe"
    options = ["--rules", str(no_rules_file(scratch))] if kind == "tap-record" else []
    data = fresh_data_dir(scratch, f"{kind}-{i}")
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    r = run_measured(
        [PYTHON, MANAGE, "tap", mode, "--no-live", *options, "--", cat, str(src)],
        env=env,
        poll_db=sqlite_path(data),
        tree=True,
    )
    r.update(tap_stats(data))
    recs = list((data / "recordings").rglob("*.cast"))
    r["recording_mb"] = sum(p.stat().st_size for p in recs) / 1e6
    shutil.rmtree(data, ignore_errors=True)
    return r


def no_rules_file(scratch: Path) -> Path:
    """A rules file that disables every built-in rule (for tap-record)."""
    path = scratch / "no-rules.toml"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from extraction.engine.extractor import default_rules

        rules = default_rules()
        names = sorted(
            {r.name for r in (*rules.line_rules, *rules.fence_rules, *rules.prompt_rules)}
        )
        path.write_text("disable = [" + ", ".join(f'"{n}"' for n in names) + "]\n")
    return path


def startup_cost(scratch: Path) -> float:
    data = fresh_data_dir(scratch, "startup")
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    walls = [
        run_measured([PYTHON, MANAGE, "tap", "--pipe", "--no-live", "--", "true"], env=env)["wall"]
        for _ in range(3)
    ]
    shutil.rmtree(data, ignore_errors=True)
    return statistics.median(walls)


def main() -> None:
    args = parse_args()
    kinds = [k.strip() for k in args.only.split(",") if k.strip()] or list(RUNS)
    unknown = set(kinds) - set(RUNS)
    if unknown:
        sys.exit(f"unknown runs: {', '.join(sorted(unknown))} (choose from {', '.join(RUNS)})")
    src = generated_input(args.lines, args.seed)
    size_mb = src.stat().st_size / 1e6
    print(
        f"input: {args.lines:,} lines, {size_mb:.1f} MB ({src.stat().st_size / args.lines:.0f} bytes/line), "
        f"repeat {args.repeat}, load average at start {loadavg()}",
        flush=True,
    )
    scratch = Path(tempfile.mkdtemp(prefix="streamtap-bench-tap-"))
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    try:
        if any(k.startswith("tap") for k in kinds):
            print(
                f"tap start-up (`tap --pipe --no-live -- true`, median of 3): {startup_cost(scratch):.2f} s",
                flush=True,
            )
        for i in range(args.repeat):
            for kind in kinds:
                r = one_run(kind, src, scratch, i)
                results[kind].append(r)
                extra = ""
                if kind.startswith("tap"):
                    extra = f", {r['events_stored']:,} events stored, lines {r['lines']:,}"
                print(
                    f"  run {i + 1} {kind:<10} {r['wall']:6.2f} s  rss {r['rss_mb']:6.1f} MB{extra}",
                    flush=True,
                )
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    report(results, args.lines)


def report(results: dict[str, list[dict]], lines: int) -> None:
    med = {k: statistics.median(r["wall"] for r in rs) for k, rs in results.items() if rs}
    print(
        f"\n## Tap throughput, {lines:,} lines (median of {len(next(iter(results.values())))} runs; load {loadavg()} at end)\n"
    )
    print(
        "| run | wall s (median) | best s | lines/s | vs asciinema | vs cat\\|tee | peak RSS MB | CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, rs in results.items():
        wall = med[kind]
        best = min(r["wall"] for r in rs)
        rss = max(r["rss_mb"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        vs_a = f"{wall / med['asciinema']:.2f}×" if "asciinema" in med else "–"
        vs_t = f"{wall / med['cat|tee']:.2f}×" if "cat|tee" in med else "–"
        print(
            f"| {kind} | {wall:.2f} | {best:.2f} | {lines / wall:,.0f} | {vs_a} | {vs_t} | {rss:.1f} | {cpu:.2f} |"
        )
    taps = [k for k in results if k.startswith("tap")]
    if taps:
        print(
            "\n| tap | events stored | distinct seq | session total | lines counted | persisted ev/s (writer window) | persisted ev/s (whole wall) | first / last row visible at s | program done at s | tap PSS MB (processes) | CPU s: tap (+ PTY reader) / writer / program |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
        for kind in taps:
            rs = results[kind]
            r = sorted(rs, key=lambda x: x["wall"])[len(rs) // 2]
            window = (r["last_event_at"] or 0) - (r["first_event_at"] or 0)
            writer_rate = f"{r['events_stored'] / window:,.0f}" if window > 0 else "–"
            print(
                f"| {kind} | {r['events_stored']:,} | {r['events_distinct']:,} | {r['events_total']:,} | {r['lines']:,} | "
                f"{writer_rate} | {r['events_stored'] / r['wall']:,.0f} | "
                f"{(r['first_event_at'] or 0):.2f} / {(r['last_event_at'] or 0):.2f} | "
                f"{r['program_done_at'] or 0:.2f} | {r['pss_mb']:.1f} ({r['pss_processes']}) | "
                f"{cpu_split(rs)} |"
            )
    print("\ntargets (issue 2):")
    for kind in (k for k in taps if k != "tap-record"):
        if "asciinema" in med:
            ok = med[kind] <= med["asciinema"]
            print(
                f"- {kind} no slower than asciinema rec: {med[kind]:.2f} s vs {med['asciinema']:.2f} s {'✓' if ok else '✗'}"
            )
        rss = max(r["rss_mb"] for r in results[kind])
        pss = max(r["pss_mb"] for r in results[kind])
        print(
            f"- {kind} peak RSS ≤ {TARGET_RSS_MB} MB: {rss:.1f} MB (largest process) "
            f"{'✓' if rss <= TARGET_RSS_MB else '✗'}; the tap's processes together (PSS) "
            f"{pss:.1f} MB {'✓' if pss <= TARGET_RSS_MB else '✗'}"
        )


def cpu_split(runs: list[dict]) -> str:
    """Median CPU seconds of the tap process, its PTY reader (PTY mode: "tap + pump"), its
    writer process and the wrapped program."""

    def median(role: str) -> float:
        return statistics.median(r["cpu_by_role"][role] for r in runs)

    tap = f"{median('tap'):.2f}"
    if median("pty pump"):
        tap += f" + {median('pty pump'):.2f}"
    return " / ".join([tap, *(f"{median(role):.2f}" for role in ("writer", "program"))])


if __name__ == "__main__":
    main()
