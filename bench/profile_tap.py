"""Where the tap's seconds go, process by process (issue 19, item 2: a missed target names its cost).

    .venv/bin/python bench/profile_tap.py [--lines 1000000] [--inputs bench,heavy]
                                          [--modes pipe,pty] [--no-functions]

bench_program_time.py says how long the tap takes to its end against `asciinema rec`; this says
what that time is made of. For each input and mode, one `tap --no-live` of the same program
(bench/emit_timed.py) into a fresh migrated SQLite data directory, as make bench runs it:

- CPU seconds of each of the tap's processes, read from /proc every 10 ms until it ends (a
  process's last 10 ms can be missed): the tap itself (start-up, reader, redaction, recording,
  routing), the extraction, the writer, the output pumps, the program;
- when each ended, and how busy the machine's cores were over the run: all of that CPU over
  nproc × the wall time. Near 100 %, only less CPU makes the tap end sooner; well below, the
  stages wait on each other.

Then, unless --no-functions, a second run with py-spy (requirements-dev.txt) sampling the tap,
the extraction and the writer at 250 Hz while each holds the interpreter lock: each one's
functions by their own share of those samples. Work done without the lock (SQLite's own
inserts, the kernel's copies) is not in them; the CPU table has it. py-spy attaches to running
processes: as root, or where ptrace is allowed; otherwise this part says why it is missing.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
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
)
from bench_program_time import EMIT, fresh_data_dir, heavy_input  # noqa: E402

SAMPLE_SECONDS = 0.01
PY_SPY_RATE = 250
TOP_FUNCTIONS = 8
ROLES = {
    "streamtap-ext": "the extraction",
    "streamtap-db": "the writer",
    "streamtap-out": "an output pump",
}
TAP_ROLE = "the tap (start-up, reader, recording, routing)"
PROGRAM_ROLE = "the program (emit_timed.py)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--inputs", default="bench,heavy")
    parser.add_argument("--modes", default="pipe,pty")
    parser.add_argument("--no-functions", action="store_true", help="no py-spy run")
    return parser.parse_args()


class ProcessSampler:
    """Every process under ``root`` (itself included): its role, last CPU reading and when it
    was last seen alive, read every SAMPLE_SECONDS on a thread of this process."""

    def __init__(self, root: int):
        self.root = root
        self.started = time.monotonic()
        self.seen: dict[int, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            if tick % 5 == 0:  # new processes: all of them start within the first moments
                tree, queue = children_by_parent(), [self.root]
                while queue:
                    pid = queue.pop()
                    if pid not in self.seen:
                        self.seen[pid] = {"role": None, "comm": None, "cpu": 0.0, "last": 0.0}
                    queue += [c for c in tree.get(pid, ()) if c not in self.seen]
            now = time.monotonic() - self.started
            for pid, entry in self.seen.items():
                stat = process_stat(pid)
                if stat is None:
                    continue
                comm, cpu = stat
                entry["cpu"], entry["last"], entry["comm"] = cpu, now, comm
                # Sticky: an exited, unreaped program has an empty command line.
                entry["role"] = self._role(pid, comm) or entry["role"]
            tick += 1
            self._stop.wait(SAMPLE_SECONDS)

    def _role(self, pid: int, comm: str) -> str:
        if pid == self.root:
            return TAP_ROLE
        if comm in ROLES:
            return ROLES[comm]
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            cmdline = b""
        if not cmdline:
            return None
        if b"pty_pump.py" in cmdline:  # a pump seen before it took its name
            return ROLES["streamtap-out"]
        return PROGRAM_ROLE if b"emit_timed" in cmdline else comm


def tap_argv(mode: str, src: Path, stamp: Path, delay: float = 0.0) -> list[str]:
    emit = [PYTHON, "-S", EMIT, str(src), str(stamp)]
    if delay:  # the helpers exist, idle, when the program starts: time to attach py-spy
        emit = ["sh", "-c", f'sleep {delay}; exec "$@"', "sh", *emit]
    return [PYTHON, MANAGE, "tap", f"--{mode}", "--no-live", "--", *emit]


def cpu_run(mode: str, src: Path, scratch: Path) -> dict:
    data = fresh_data_dir(scratch, f"cpu-{mode}")
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    with open(os.devnull, "rb") as devnull_in, open(os.devnull, "wb") as devnull_out:
        launched = time.monotonic()
        proc = subprocess.Popen(
            tap_argv(mode, src, scratch / "stamp"),
            stdin=devnull_in,
            stdout=devnull_out,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        sampler = ProcessSampler(proc.pid)
        _, err = proc.communicate()
        wall = time.monotonic() - launched
        sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"tap --{mode} exited {proc.returncode}: {err.decode()[-2000:]}")
    by_role: dict[str, dict] = {}
    for entry in sampler.seen.values():
        role = entry["role"] or entry.get("comm")
        if role is None:
            continue
        slot = by_role.setdefault(role, {"cpu": 0.0, "last": 0.0, "count": 0})
        slot["cpu"] += entry["cpu"]
        slot["last"] = max(slot["last"], entry["last"])
        slot["count"] += 1
    shutil.rmtree(data, ignore_errors=True)
    return {"wall": wall, "roles": by_role}


def py_spy() -> str | None:
    found = BIN / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def function_run(mode: str, src: Path, scratch: Path, spy: str) -> dict[str, list] | str:
    """Own samples per function in the tap, the extraction and the writer; or why there are
    none."""
    data = fresh_data_dir(scratch, f"spy-{mode}")
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    outputs: dict[str, Path] = {}
    spies = []
    with open(os.devnull, "rb") as devnull_in, open(os.devnull, "wb") as devnull_out:
        proc = subprocess.Popen(
            tap_argv(mode, src, scratch / "stamp", delay=1.0),
            stdin=devnull_in,
            stdout=devnull_out,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        # The helpers are forked before the program starts; wait until both are there.
        deadline = time.monotonic() + 5
        helpers: dict[str, int] = {}
        while len(helpers) < 2 and time.monotonic() < deadline:
            for pid in children_by_parent().get(proc.pid, ()):
                stat = process_stat(pid)
                if stat and stat[0] in ("streamtap-ext", "streamtap-db"):
                    helpers[ROLES[stat[0]]] = pid
            time.sleep(0.02)
        targets = {TAP_ROLE: proc.pid, **helpers}
        for role, pid in targets.items():
            out = scratch / f"spy-{pid}.txt"
            outputs[role] = out
            spies.append(
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--gil",
                        "--nonblocking",
                        "-r",
                        str(PY_SPY_RATE),
                        "-f",
                        "raw",
                        "-o",
                        str(out),
                        "-p",
                        str(pid),
                    ],  # fmt: skip
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        proc.communicate()
        errors = [s.communicate()[1].decode(errors="replace") for s in spies]
    shutil.rmtree(data, ignore_errors=True)
    result = {}
    for role, out in outputs.items():
        if not out.exists():
            reason = next((e.strip().splitlines()[-1] for e in errors if e.strip()), "no output")
            return f"py-spy could not sample the tap's processes: {reason}"
        result[role] = top_functions(out)
    return result


def top_functions(path: Path) -> tuple[list, int]:
    """The most sampled functions, by own samples: [(function, samples, share)], and the total
    of samples, from py-spy's raw output."""
    own: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frame = stack.rsplit(";", 1)[-1]
        # "function (path/to/module.py:line)": the function and its module, not the line
        name, _, where = frame.partition(" (")
        module = where.rsplit(":", 1)[0].split("/site-packages/")[-1].replace(str(ROOT) + "/", "")
        # py-spy names a frame it has no Python code for (the interpreter's own) with nothing
        own[f"{name} ({module})" if name else "(no Python frame)"] += int(count)
        total += int(count)
    return [(name, n, n / total) for name, n in own.most_common(TOP_FUNCTIONS)], total


def report_cpu(name: str, mode: str, src: Path, run: dict) -> list[str]:
    nproc = os.cpu_count() or 1
    wall = run["wall"]
    roles = sorted(run["roles"].items(), key=lambda item: -item[1]["cpu"])
    total = sum(r["cpu"] for _, r in roles)
    lines = [
        f"### {name} input, `tap --{mode}` ({src.stat().st_size / 1e6:.0f} MB; "
        f"load before: {loadavg()})",
        "",
        "| process | CPU s | share of the tap's CPU | last seen at s |",
        "|---|---:|---:|---:|",
    ]
    for role, r in roles:
        label = role if r["count"] == 1 else f"{role} (×{r['count']})"
        lines.append(f"| {label} | {r['cpu']:.2f} | {r['cpu'] / total:.0%} | {r['last']:.2f} |")
    lines += [
        f"| all | {total:.2f} | | wall {wall:.2f} s |",
        "",
        f"- {name} input, `--{mode}`: {total:.2f} CPU-s over {wall:.2f} s on {nproc} cores: "
        f"the cores {total / (nproc * wall):.0%} busy; with every core busy from start to end "
        f"the same CPU would take {total / nproc:.2f} s",
        "",
    ]
    return lines


def report_functions(name: str, mode: str, found) -> list[str]:
    if isinstance(found, str):
        return [f"- {name} input, `--{mode}`: {found}", ""]
    lines = [
        f"#### {name} input, `tap --{mode}`: own samples while holding the interpreter lock "
        f"(py-spy, {PY_SPY_RATE} Hz; the program started 1 s late)",
        "",
        "| process | function | share of its samples |",
        "|---|---|---:|",
    ]
    for role, (top, total) in found.items():
        for i, (function, _, share) in enumerate(top):
            who = f"{role} ({total / PY_SPY_RATE:.2f} s)" if i == 0 else ""
            lines.append(f"| {who} | `{function}` | {share:.1%} |")
    lines.append("")
    return lines


def main() -> None:
    args = parse_args()
    spy = None if args.no_functions else py_spy()
    with tempfile.TemporaryDirectory(prefix="st-profile-tap-") as tmp:
        scratch = Path(tmp)
        for name in args.inputs.split(","):
            src = generated_input(args.lines) if name == "bench" else heavy_input(args.lines)
            for mode in args.modes.split(","):
                section = report_cpu(name, mode, src, cpu_run(mode, src, scratch))
                if not args.no_functions:
                    found = (
                        function_run(mode, src, scratch, spy)
                        if spy
                        else "py-spy is not installed (make setup-dev installs it)"
                    )
                    section += report_functions(name, mode, found)
                print("\n".join(section), flush=True)


if __name__ == "__main__":
    main()
