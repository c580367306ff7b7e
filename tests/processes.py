"""Processes the tests start and watch: a management command run to its end, children and
liveness in /proc, and `manage.py serve` as a user starts it (its own process group, output read
line by line)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_manage(env: dict, *args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """`manage.py *args` in its own process, run to its end with its output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=timeout,
        **kwargs,
    )


def children_of(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (none once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Serve:
    process: subprocess.Popen
    port: int
    output: bytes = b""

    def wait_until_serving(self) -> None:
        while b"Press Ctrl-C" not in self.output:
            line = self.process.stdout.readline()
            assert line, "serve exited:\n" + self.output.decode(errors="replace")
            self.output += line

    def daphne_pid(self) -> int:
        [pid] = children_of(self.process.pid)
        return pid

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(30)


def start_serve(env: dict, port: int) -> Serve:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Serve(process, port)
