"""The PTY reader process (sessions/pty_pump.py): the program's pace is its own, not the tap's.

A real pseudo-terminal, a real program writing to it and the real pump process; the test plays
the tap's reader, which reads the pump's pipe late or not at all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import tty

from sessions.tap.capture import PTY_PUMP
from tests.helpers import wait_for

# Far more than a pipe (1 MiB at most) and the PTY's own buffers hold.
FLOOD_BYTES = 8 << 20


def start_pump(master: int, terminal: int | None = None) -> subprocess.Popen:
    argv = [sys.executable, "-I", "-S", PTY_PUMP, str(master), str(os.getpid())]
    if terminal is not None:
        argv.append(str(terminal))
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        pass_fds=(master,) if terminal is None else (master, terminal),
    )


def start_program(slave: int, code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )


def raw_pty() -> tuple[int, int]:
    master, slave = os.openpty()
    tty.setraw(slave)  # the bytes as written: no "\n" → "\r\n"
    return master, slave


def test_the_program_finishes_while_the_taps_reader_is_not_reading(tmp_path):
    master, slave = raw_pty()
    terminal = os.open(tmp_path / "terminal", os.O_WRONLY | os.O_CREAT)
    pump = start_pump(master, terminal)
    os.close(terminal)
    data = bytes(range(256)) * (FLOOD_BYTES // 256)
    program = start_program(
        slave,
        "import os, sys\n"
        f"data = bytes(range(256)) * {FLOOD_BYTES // 256}\n"
        "view = memoryview(data)\n"
        "while view:\n"
        "    view = view[os.write(1, view):]\n",
    )
    os.close(slave)
    # Nobody reads the pump's pipe yet: the program is done all the same (it used to block
    # once the pipe's 1 MiB was full, at the tap reader's pace), and the terminal shows it all.
    assert program.wait(timeout=120) == 0
    wait_for(lambda: (tmp_path / "terminal").stat().st_size == len(data))
    assert (tmp_path / "terminal").read_bytes() == data
    out = pump.stdout.read()
    assert pump.wait(timeout=60) == 0
    os.close(master)
    assert len(out) == len(data)
    assert out == data


def test_the_pump_ends_when_the_taps_end_of_the_pipe_closes():
    master, slave = raw_pty()
    pump = start_pump(master)
    program = start_program(slave, "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n")
    assert pump.stdout.read(1 << 16)
    pump.stdout.close()
    assert pump.wait(timeout=60) == 0
    program.kill()
    program.wait()
    os.close(slave)
    os.close(master)


def test_a_stopped_pump_hands_on_all_it_read_and_leaves_the_rest_in_its_source():
    # The tap stops a pump (SIGUSR1) when the program has exited and its output has gone quiet
    # while something still holds the source open, then reads the source itself. Stopped at any
    # point of a flood, the pump drops nothing: what it hands on, then what is left in the
    # source, is the whole output, in order.
    data = b"".join(b"line %d\n" % i for i in range(100_000))  # ~790 KiB, 12 pipes full
    for stop_after in (1, 64 << 10, 256 << 10, 512 << 10):
        source, program_end = os.pipe()
        pump = start_pump(source)
        program = threading.Thread(target=_write_and_close, args=(program_end, data), daemon=True)
        program.start()
        handed_on = pump.stdout.read(stop_after)
        pump.send_signal(signal.SIGUSR1)
        handed_on += pump.stdout.read()
        assert pump.wait(timeout=60) == 0
        left = b""
        while chunk := os.read(source, 1 << 16):
            left += chunk
        program.join(60)
        os.close(source)
        assert handed_on + left == data, stop_after


def _write_and_close(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)
