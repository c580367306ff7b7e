"""Copies a program's output (its pseudo-terminal, or in pipe mode each of its stdout and
stderr pipes) into a pipe to the tap's reader, in a process of its own: the output pump.

    python -I -S sessions/pty_pump.py SOURCE_FD TAP_PID [TERMINAL_FD]   (started by ChildRunner)

In pipe mode the same holds with a 64 KiB pipe instead of the PTY's buffer: the program ran at
the reader's pace (bench input: 1.7-2.0× its time under asciinema rec; through pumps 0.2-0.5×).

A PTY hands over at most 4 KiB per read and the kernel's tty layer makes each read (and the
``select()`` before it) cost ~100 µs: about 40 % of the tap's reader time in PTY mode went to
those system calls, during which the reader was not running the pipeline. This process does
the reads on the other core, copies the bytes to the person's terminal (as asciinema rec does:
the terminal first) and writes them into a pipe, which the reader empties 64 KiB at a time as
in pipe mode, to record and extract them.

It also keeps the program from waiting for the reader. A program that fills the PTY's small
buffer (~4 KiB read side) blocks until someone reads it, so whatever reads the PTY sets the
program's pace. The reader redacts, records and hands every byte on, ~2 µs per 100 bytes
(session 9, bench input of 89 MB: 2.0 s of the reader against 0.9 s for asciinema rec to read
it all), so with only the pipe's 1 MiB in between the program ran at the reader's pace: 2.3×
its time under asciinema rec. What the pipe cannot take now waits here, in memory, up to
MAX_BACKLOG_BYTES, and the PTY is read at once: the program runs at the pace of this loop
(read, write), as under asciinema rec, and the reader catches up behind it, as the extraction
does behind the reader (its own backlog: sessions/tap/extraction_process.py). Past the bound
the PTY waits: memory stays bounded and the program is held back again. (A pump killed with a
backlog loses it from the recording, not from the terminal; the reader then reads the PTY.)

It imports nothing but the standard library (and starts without ``site``, ~15 ms), stops at the
PTY's end (EIO once the last holder of the terminal is gone) after its backlog is written, or
when the tap's end of the pipe closes, ignores terminal signals (the tap forwards those to the
program), and dies with the tap.

SIGUSR1 is the tap's "stop": the program has exited and its output has gone quiet, but the
source is still open (a descendant holds it, or this process started so late on a busy machine
that it has not read it yet). The pump reads no more, writes what it has read and ends; the tap
reads what is left in the source itself. Killed instead, it lost whatever it held: on a loaded
CI machine a pump that had not finished starting lost a whole run's output.
"""

import ctypes
import os
import select
import signal
import sys
import threading
from collections import deque

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
READ_SIZE = 65536
# What waits here for the reader, at most: the bench input's 89 MB flood needs ~50 MB of it
# (the reader goes at about half the program's pace; the extraction's backlog in the tap is only
# 4 MiB). 80 MiB keeps this process under 100 MB (78 MB peak on the bench input).
MAX_BACKLOG_BYTES = 80 << 20
# One write() to the pipe takes this much of the backlog at most (the pipe holds 1 MiB).
WRITE_SIZE = 1 << 20


def main(master: int, tap_pid: int, terminal: int | None = None) -> int:
    # First, so that a stop before it is the signal's default (the end of a pump that has read
    # nothing: the tap then reads the source itself).
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: _close_source(master))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    libc.prctl(_PR_SET_NAME, b"streamtap-out")  # at most 15 bytes
    if os.getppid() != tap_pid:
        return 1  # the tap died before the death signal was armed
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)
    return pump(master, 1, terminal)


class Backlog:
    """Chunks read from the PTY and not yet taken by the pipe, at most MAX_BACKLOG_BYTES."""

    def __init__(self, out: int, max_bytes: int = MAX_BACKLOG_BYTES):
        self.out = out  # the pipe, non-blocking
        self.max_bytes = max_bytes
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.ended = False  # the PTY has ended: what is left is written, then the pipe closes
        self.gone = False  # the tap's end of the pipe is closed
        self.busy = False  # the writer thread holds taken chunks it has not written yet
        self.cond = threading.Condition()

    def put(self, data: bytes) -> bool:
        """False once the tap is gone."""
        with self.cond:
            if not (self.chunks or self.busy):
                # The reader keeps up: straight into the pipe. A hand-over to the writer thread
                # for every ~4 KiB read (two thread switches) made the pump cost more than the
                # single write (heavy input: 1.7× against 1.0× asciinema rec's program time).
                rest = _write_some(self.out, data)
                if rest is None:
                    self.gone = True
                    return False
                if not rest:
                    return True
                data = rest
            while self.size >= self.max_bytes and not self.gone:
                self.cond.wait()
            self.chunks.append(data)
            self.size += len(data)
            self.cond.notify()
            return not self.gone

    def end(self) -> None:
        with self.cond:
            self.ended = True
            self.cond.notify()

    def take(self) -> bytes | None:
        """Up to WRITE_SIZE of what waits, as one write; None at the end."""
        with self.cond:
            self.busy = False  # what it took before is written
            while not self.chunks and not self.ended:
                self.cond.wait()
            if not self.chunks:
                return None
            self.busy = True
            head = [self.chunks.popleft()]
            size = len(head[0])
            while self.chunks and size + len(self.chunks[0]) <= WRITE_SIZE:
                head.append(self.chunks.popleft())
                size += len(head[-1])
            self.size -= size
            self.cond.notify()
            return b"".join(head) if len(head) > 1 else head[0]

    def close(self) -> None:
        with self.cond:
            self.gone = True
            self.cond.notify_all()


def pump(master: int, out: int, terminal: int | None = None) -> int:
    """This thread reads the PTY, copies each chunk to ``terminal`` (the person's, when the
    tap has one) first, then into the pipe while the pipe takes it; once the pipe is full,
    another thread writes what waits, all of it per write (the reader then gets large chunks
    too, and the pipeline runs once per chunk)."""
    os.set_blocking(out, False)  # our end only: the master stays blocking (the tap writes to it)
    backlog = Backlog(out)
    writer = threading.Thread(target=_write_loop, args=(backlog, out), daemon=True)
    writer.start()
    while True:
        try:
            data = os.read(master, READ_SIZE)
        except OSError:  # EIO: nobody holds the terminal's other side any more; EBADF: stopped
            data = b""
        if not data:
            backlog.end()
            writer.join()
            return 0
        if terminal is not None and not _echo(terminal, data):
            terminal = None  # the tap's output went away (closed pipe): keep recording
        if not backlog.put(data):
            return 0  # the tap is gone


def _close_source(master: int) -> None:
    """The stop. Not an exception: raised just after a read returned, it would drop the chunk
    read. Closed, the source fails the next read (or the one this signal interrupted, which
    Python retries), and the loop ends after the chunk in hand is copied."""
    try:
        os.close(master)
    except OSError:
        pass  # a second stop


def _echo(terminal: int, data: bytes) -> bool:
    """All of ``data`` to the terminal, as the program wrote it; False once it cannot take it.

    Here and not in the tap's reader, and before the backlog: the terminal shows the output at
    the program's pace (a slow terminal holds the program back as without streamtap, and after
    a Ctrl-C the screen stops as soon as the program does), while the recording and the
    extraction may run behind."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(terminal, view) :]
        except BlockingIOError:  # a terminal left non-blocking by someone else
            select.select([], [terminal], [], 1.0)
        except OSError:
            return False
    return True


def _write_loop(backlog: Backlog, out: int) -> None:
    while (data := backlog.take()) is not None:
        while data:
            rest = _write_some(out, data)
            if rest is None:  # the tap is gone (EPIPE)
                backlog.close()
                return
            if rest:
                select.select([], [out], [])
            data = rest


def _write_some(out: int, data: bytes) -> bytes | None:
    """What the pipe takes of ``data`` now; the rest, or None once the tap is gone (EPIPE)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(out, view) :]
    except BlockingIOError:
        pass
    except OSError:
        return None
    return bytes(view)


if __name__ == "__main__":
    terminal = int(sys.argv[3]) if len(sys.argv) > 3 else None
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), terminal))
