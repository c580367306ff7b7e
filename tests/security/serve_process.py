"""`manage.py serve` as a user starts it: its own process group, output read line by line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .conftest import ROOT


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
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        [pid] = children.read_text().split()
        return int(pid)

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


def alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
