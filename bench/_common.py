"""Helpers shared by the benchmark scripts: paths, the generated input, the machine, percentiles,
and a daphne serving streamtap (also started by the browser tests, tests/e2e/conftest.py).

The input is bench_extractor's generator (deterministic per seed: ~95-byte lines, ~5% of them
events), written once to a file so every peer in a run reads exactly the same bytes.
"""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = (
    str(ROOT / ".venv" / "bin" / "python")
    if (ROOT / ".venv/bin/python").exists()
    else sys.executable
)
BIN = Path(PYTHON).parent
MANAGE = str(ROOT / "manage.py")
CHROMIUM = os.environ.get("STREAMTAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PG_ADMIN_URL = os.environ.get("STREAMTAP_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("STREAMTAP_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def generated_input(lines: int, seed: int = 1, directory: str | os.PathLike | None = None) -> Path:
    """The bench input file for (lines, seed), generated once and cached under /tmp."""
    directory = Path(
        directory or os.environ.get("STREAMTAP_BENCH_CACHE", "/tmp/streamtap-bench-input")
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"lines-{lines}-seed{seed}.txt"
    if not path.exists():
        # In a child process: the generator holds the whole text in memory, and a large parent
        # would inflate the peak RSS that later children inherit until they exec.
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from bench_extractor import generate; "
            "open(sys.argv[2], 'w', encoding='utf-8').write(generate(int(sys.argv[3]), int(sys.argv[4])))"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "bench"), str(tmp), str(lines), str(seed)],
            check=True,
        )
        tmp.rename(path)
    return path


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---- processes, read from /proc (the tap's helpers, pumps and program; a database backend) ----


def process_stat(pid: int) -> tuple[str, float] | None:
    """(command name, user + system CPU seconds) of a live process; None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw.rsplit(")", 1)[1].split()
    return comm, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a live process; None once it is gone."""
    stat = process_stat(pid)
    return None if stat is None else stat[1]


def children_by_parent() -> dict[int, list[int]]:
    """Every process on the machine, by its parent's pid."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(raw.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def pss_kb(pid: int) -> int:
    """A process's proportional set size (its share of pages it shares with others), in KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def clean_env(**extra: str) -> dict:
    """os.environ without the settings that would point a child at someone else's data."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("DATABASE_URL", "STREAMTAP_REDIS_URL", "DJANGO_SECRET_KEY", "STREAMTAP_DATA_DIR")
    }
    env["DJANGO_SETTINGS_MODULE"] = "streamtap_site.settings"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daphne(port: int, env: dict, log_path: Path, timeout: float = 30) -> subprocess.Popen:
    """daphne serving streamtap on 127.0.0.1:``port`` with ``env``, once its login page answers.

    Its output goes to ``log_path``, shown in the error if it exits before answering.
    """
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "streamtap_site.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{Path(log_path).read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"daphne did not answer within {timeout:g} s")


def stop_process(process: subprocess.Popen | None) -> None:
    """Terminate, then kill what does not exit within 10 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def loadavg() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        return "?"


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load": loadavg(),
    }


def newest_session(db_path: str | os.PathLike) -> dict | None:
    """The newest process_sessions row of a SQLite data dir, as a dict (read-only access)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM process_sessions ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None
    finally:
        conn.close()


def sqlite_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "streamtap.sqlite3"
