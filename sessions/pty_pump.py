"""Copies a pseudo-terminal's output into a pipe, in a process of its own.

    python -I -S sessions/pty_pump.py MASTER_FD TAP_PID     (started by ChildRunner, PTY mode)

A PTY hands over at most 4 KiB per read and the kernel's tty layer makes each read (and the
``select()`` before it) cost ~100 µs: about 40 % of the tap's reader time in PTY mode went to
those system calls, during which the reader was not running the pipeline. This process does
the reads on the other core and writes the bytes into a pipe, which the reader empties 64 KiB
at a time as in pipe mode; the pipe's 1 MiB lets the program run ahead of the pipeline.

It imports nothing but the standard library (and starts without ``site``, ~15 ms), stops at the
PTY's end (EIO once the last holder of the terminal is gone) or when the tap's end of the pipe
closes, ignores terminal signals (the tap forwards those to the program), and dies with the tap.
"""

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
READ_SIZE = 65536


def main(master: int, tap_pid: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    libc.prctl(_PR_SET_NAME, b"streamtap-pty")  # at most 15 bytes
    if os.getppid() != tap_pid:
        return 1  # the tap died before the death signal was armed
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        try:
            data = os.read(master, READ_SIZE)
        except OSError:  # EIO: nobody holds the terminal's other side any more
            return 0
        if not data:
            return 0
        view = memoryview(data)
        while view:
            try:
                written = os.write(1, view)
            except OSError:  # the tap is gone (EPIPE)
                return 0
            view = view[written:]


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
