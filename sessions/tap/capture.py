"""Running the wrapped program: PTY or pipes, passthrough, signals, window size, stdin.

The reader loop is the hot path. It only copies bytes to the terminal and hands decoded chunks
to the pipeline; the database and the live bus are other threads behind bounded buffers.
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from extraction.engine.pipeline import IDLE_SECONDS, SETTLE_SECONDS
from streamtap_site.file_modes import user_umask

from ..pipeline import Pipeline

READ_SIZE = 65536
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
PTY_PUMP = str(Path(__file__).resolve().parent.parent / "pty_pump.py")
PUMP_PIPE_SIZE = 1 << 20
# After the child exits, output its descendants still write is collected until this much quiet.
DRAIN_SECONDS = 0.3
# Pipe mode: a stream's unfinished last line waits for the rest of it up to this long (see
# ChildRunner._line_aligned); a line longer than this goes on in pieces.
MAX_HELD_LINE_CHARS = 64 * 1024
TICK_SECONDS = 0.1


def _read_available(fd: int, data: bytes) -> bytes:
    """More of what is already waiting on fd, up to READ_SIZE, without waiting for any.

    A pseudo-terminal hands over at most ~4 KiB per read: a program printing fast would cost the
    whole pipeline (redaction, recording, extraction) once per 4 KiB. End of output and errors
    are left for the next read to find.
    """
    chunks = [data]
    size = len(data)
    while size < READ_SIZE:
        try:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                break
            more = os.read(fd, READ_SIZE - size)
        except OSError:
            break
        if not more:
            break
        chunks.append(more)
        size += len(more)
    return b"".join(chunks) if len(chunks) > 1 else data


# Terminal queries a full-screen program may send and wait for. With a real terminal on our
# stdout the terminal answers; in a detached run (CI, `tap … > log`) nobody would, and Codex,
# for one, stalls at start until it gets a cursor position.
_QUERY = re.compile(rb"\x1b\[(?:6n|\??5n|0?c|>0?c)|\x1b\](?:10|11);\?(?:\x07|\x1b\\)")


@dataclass
class TermSize:
    cols: int = 80
    rows: int = 24


def query_answers(data: bytes, cursor: Callable[[], tuple[int, int]]) -> list[bytes]:
    """What a terminal would answer to the queries in ``data``; ``cursor()``: (row, col),
    1-based, asked only for a cursor-position query (a screen may have to render for it)."""
    answers = []
    for m in _QUERY.finditer(data):
        q = m.group(0)
        if q.endswith(b"6n"):
            row, col = cursor()
            answers.append(f"\x1b[{row};{col}R".encode())
        elif q.endswith(b"5n"):
            answers.append(b"\x1b[0n")
        elif q.startswith(b"\x1b[>"):
            answers.append(b"\x1b[>0;10;1c")
        elif q.endswith(b"c"):
            answers.append(b"\x1b[?62;22c")
        elif q.startswith(b"\x1b]10"):
            answers.append(b"\x1b]10;rgb:ffff/ffff/ffff\x1b\\")
        else:
            answers.append(b"\x1b]11;rgb:0000/0000/0000\x1b\\")
    return answers


def terminal_size(fd: int) -> TermSize | None:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return TermSize(cols or 80, rows or 24) if cols and rows else None


def set_terminal_size(fd: int, size: TermSize) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.rows, size.cols, 0, 0))


def exit_status(returncode: int) -> tuple[int, int | None]:
    """(shell-style exit code, signal number or None) from a Popen returncode."""
    if returncode < 0:
        return 128 - returncode, -returncode
    return returncode, None


@dataclass
class ReaderState:
    """Where the reader loop stands between two ``select()`` calls.

    Settle points (a complete block is finished) and idle points (a prompt may be waiting) come
    from the output's own timing: a pause of ``SETTLE_SECONDS`` or ``IDLE_SECONDS`` after
    output, seen by the timer or, when a chunk arrives after a pause the timer missed, by the
    chunk's offset. Every idle point is a settle point first, as ``replay`` has it. After the
    program exits, output is drained until ``DRAIN_SECONDS`` of quiet.
    """

    read_stdin: bool = False
    have_output: bool = False
    idle_fired: bool = True  # nothing new since the last idle point
    settle_fired: bool = True  # nothing new since the last settle point
    last_data: float = 0.0  # monotonic time of the last output
    exited_at: float | None = None  # monotonic time the program was seen to have exited
    last_tick: float = 0.0

    def timeout(self, now: float) -> float:
        """How long select() may wait: until the next settle or idle point or the end of the
        drain."""
        if not self.settle_fired:
            return max(0.0, self.last_data + SETTLE_SECONDS - now)
        if not self.idle_fired:
            return max(0.0, self.last_data + IDLE_SECONDS - now)
        if self.exited_at is not None:
            return max(0.0, self._quiet_since() + DRAIN_SECONDS - now)
        return 0.5

    def pause_before(self, offset: float, last_offset: float) -> bool:
        """A chunk at ``offset`` follows a pause the timer did not see (the reader was busy)."""
        return self.have_output and not self.idle_fired and offset - last_offset >= IDLE_SECONDS

    def settle_before(self, offset: float, last_offset: float) -> bool:
        """A chunk at ``offset`` follows a short pause the timer did not see."""
        return self.have_output and not self.settle_fired and offset - last_offset >= SETTLE_SECONDS

    def output(self, now: float) -> None:
        self.have_output = True
        self.idle_fired = False
        self.settle_fired = False
        self.last_data = now

    def settle_due(self, now: float) -> bool:
        return self.have_output and not self.settle_fired and now - self.last_data >= SETTLE_SECONDS

    def idle_due(self, now: float) -> bool:
        return self.have_output and not self.idle_fired and now - self.last_data >= IDLE_SECONDS

    def quiet(self) -> bool:
        """The program printed something and has been quiet since the last idle point."""
        return self.have_output and self.idle_fired

    def tick_due(self, now: float, busy: bool) -> bool:
        if now - self.last_tick >= TICK_SECONDS or not busy:
            self.last_tick = now
            return True
        return False

    def drained(self, now: float, busy: bool) -> bool:
        """The program has exited and nothing came for DRAIN_SECONDS since then: quiet since
        the exit or since the last output, whichever is later. (Since the exit alone, a pump
        still copying a flood's backlog that missed one select() round ended the read: a
        million-line program lost up to three quarters of its output on a busy machine.)"""
        return (
            self.exited_at is not None and not busy and now - self._quiet_since() >= DRAIN_SECONDS
        )

    def restart_drain(self, now: float) -> None:
        """Another DRAIN_SECONDS of quiet from ``now`` (the pumps were asked to stop)."""
        self.exited_at = now

    def _quiet_since(self) -> float:
        return max(self.exited_at, self.last_data)


class ChildRunner:
    """Runs one command and pumps its output through a Pipeline until it and its output end."""

    def __init__(
        self,
        argv: list[str],
        pipeline: Pipeline,
        *,
        use_pty: bool,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        stderr_fd: int = 2,
        env: dict | None = None,
        cwd: str | None = None,
        on_resize: Callable[[float, TermSize], None] | None = None,
        on_tick: Callable[[float], None] | None = None,
    ):
        self.argv = argv
        self.pipeline = pipeline
        self.use_pty = use_pty
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.stderr_fd = stderr_fd
        self.env = env
        self.cwd = cwd
        self.on_resize = on_resize
        self.on_tick = on_tick
        # Called (reader thread) with what the person at the terminal typed.
        self.on_input: Callable[[bytes], None] | None = None
        # Answers the terminal queries of a program run without a terminal (detached): by
        # default at once, from the pipeline's screen; the tap has the extraction answer them.
        self.answer_queries: Callable[[bytes], None] | None = None
        # Whether the program waits at a prompt nobody has answered (set by the tap).
        self.prompt_waiting: Callable[[], bool] = lambda: False
        # Piped input ended while the program may still ask something: the Ctrl-D that ends it
        # waits for a quiet moment with no prompt open (see _forward_stdin). An agent asks at
        # any time (after a model call that prints nothing), so it gets none: False.
        self.types_eof = True
        self._eof_held = False
        self.size = terminal_size(stdout_fd) or terminal_size(stdin_fd) or _env_size()
        self.detached = not os.isatty(stdout_fd)
        self.proc: subprocess.Popen | None = None
        # The output pumps (sessions/pty_pump.py) by the fd the reader reads: each with the fd
        # it reads for us and the terminal it copies to.
        self.pumps: dict[int, tuple[subprocess.Popen, int, int]] = {}
        self._pumps_stopped = False
        self._mono0 = time.monotonic()
        self.bytes_out = 0
        self._inject: list[bytes] = []
        self._inject_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._pending_signals: list[int] = []
        self._child_in: int | None = None
        self._saved_tty = None
        self._passthrough_ok = {stdout_fd: True, stderr_fd: True}
        self.signals_forwarded: list[int] = []
        # The person's terminal went away (SIGHUP, or its reads fail with EIO): the session
        # ends as killed, whatever the program then does.
        self.hung_up = False
        # Pipe mode: each stream's unfinished last line, by the fd it is read from, held back
        # until its end arrives (or the output pauses) so the other stream's lines do not land
        # in the middle of it (see _line_aligned). A terminal is one stream: nothing held.
        self._held_lines: dict[int, str] | None = None if use_pty else {}

    # ---- public API used by other threads ----

    def send_input(self, data: bytes) -> None:
        """Type into the program (auto-confirm, a browser's approval). Thread-safe."""
        if not self.use_pty:
            # Answers type Enter as a terminal sends it ("\r"); the terminal's line discipline
            # turns that into "\n", and through a pipe nothing does.
            data = data.replace(b"\r", b"\n")
        with self._inject_lock:
            self._inject.append(data)
        self._wake()

    def offset(self) -> float:
        return round(time.monotonic() - self._mono0, 6)

    # ---- lifecycle ----

    def start(self) -> int:
        if self.use_pty:
            master, slave = os.openpty()
            set_terminal_size(slave, self.size)
            self.proc = subprocess.Popen(
                self.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_take_controlling_tty,
                close_fds=True,
                # The program creates its files as without streamtap (not 0600).
                umask=user_umask(),
            )
            os.close(slave)
            self.master = master
            self.out_fds = dict([self._pumped(master, self.stdout_fd)])
            self._child_in = master
            if os.isatty(self.stdin_fd):
                self._saved_tty = termios.tcgetattr(self.stdin_fd)
                tty.setraw(self.stdin_fd)
        else:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                cwd=self.cwd,
                process_group=0,
                close_fds=True,
                umask=user_umask(),
            )
            # Through pumps as in PTY mode: a pipe of 64 KiB between the program and the reader
            # made the program's pace the reader's (bench input: 1.7-2.0× its time under
            # asciinema rec, issue 19.1).
            self.out_fds = dict(
                [
                    self._pumped(self.proc.stdout.fileno(), self.stdout_fd),
                    self._pumped(self.proc.stderr.fileno(), self.stderr_fd),
                ]
            )
            self._child_in = self.proc.stdin.fileno()
            if not _is_readable_source(self.stdin_fd):
                # Run directly, the program would read EOF from /dev/null at once; a pipe left
                # open would make it wait forever (codex exec reads stdin to its end).
                self.proc.stdin.close()
                self._child_in = None
        return self.proc.pid

    def run(self) -> int:
        """Pump until the program has exited and its output is drained. Returns its returncode."""
        decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in self.out_fds}
        old_handlers = self._install_signal_handlers()
        state = ReaderState(
            read_stdin=self.stdin_fd is not None and _is_readable_source(self.stdin_fd)
        )
        try:
            while self.out_fds:
                watch = [*self.out_fds, self._wake_r]
                if state.read_stdin:
                    watch.append(self.stdin_fd)
                try:
                    ready, _, _ = select.select(watch, [], [], state.timeout(time.monotonic()))
                except InterruptedError:
                    ready = []
                for fd in ready:
                    if fd in self.out_fds:
                        self._read_output(fd, decoders, state)
                    elif fd == self._wake_r:
                        self._drain_wake()
                    elif fd == self.stdin_fd:
                        state.read_stdin = self._forward_stdin()
                self._forward_signals()
                self._write_injected()
                now = time.monotonic()
                if state.settle_due(now):
                    self.pipeline.settle()
                    state.settle_fired = True
                    if self._held_lines:
                        # The output paused with a line unfinished: it goes on as it is (a
                        # prompt waits on such a line), and is settled after a pause of its own.
                        self._release_held_lines(self.offset())
                        state.output(now)
                if state.idle_due(now):
                    self.pipeline.idle()
                    state.idle_fired = True
                elif state.idle_fired and self.pipeline.holding_secret:
                    self.pipeline.release_overdue(self.offset())
                if (
                    self._eof_held
                    and self.types_eof
                    and state.quiet()
                    and not self.prompt_waiting()
                ):
                    self._eof_held = False
                    self._write_child(b"\x04")
                # Once per tick, not per chunk: under a flood of output these two were a tenth
                # of the reader's time.
                if state.tick_due(now, bool(ready)):
                    if self.on_tick is not None:
                        self.on_tick(self.offset())
                    if state.exited_at is None and self.proc.poll() is not None:
                        state.exited_at = now
                if state.drained(now, bool(ready)):
                    # The child is gone and its output quiet, yet something holds it open: a
                    # descendant, which must not keep us (and the exit status) waiting forever,
                    # or a pump that has not read it all (one still starting on a busy machine
                    # was killed here with the whole output unread). So the pumps stop first,
                    # handing on what they read; we read what they left, until quiet again.
                    if self._pumps_stopped or not self._stop_pumps():
                        break
                    state.restart_drain(now)
            if self._held_lines:
                self._release_held_lines(self.offset())
            returncode = self.proc.wait()
            # Let any late signal handler finish before we restore defaults.
            self._forward_signals()
            return returncode
        finally:
            self._restore(old_handlers)

    def _read_output(self, fd: int, decoders: dict, state: ReaderState) -> None:
        """One read of the program's output: to the terminal (unless its pump copied it there
        already), then to the pipeline."""
        try:
            data = os.read(fd, READ_SIZE)
        except OSError as exc:  # EIO: the pty's last writer is gone
            if exc.errno not in (errno.EIO, errno.EBADF):
                raise
            data = b""
        if data and len(data) < READ_SIZE:
            data = _read_available(fd, data)
        if not data and self._pump_left_its_source(fd):
            # Read what is left in its source (and copy it) ourselves.
            _, source, terminal = self.pumps.pop(fd)
            self.out_fds.pop(fd)
            self.out_fds[source] = terminal
            decoders[source] = decoders.pop(fd)
            if self._held_lines and fd in self._held_lines:
                self._held_lines[source] = self._held_lines.pop(fd)
            return
        if not data:
            tail = decoders[fd].decode(b"", final=True)
            if self._held_lines:
                tail = self._held_lines.pop(fd, "") + tail
            if tail:
                self.pipeline.feed(self.offset(), tail)
            del self.out_fds[fd]
            return
        if self.out_fds[fd] is not None:
            self._passthrough(self.out_fds[fd], data)
        self.bytes_out += len(data)
        offset = self.offset()
        settled = state.settle_before(offset, self.pipeline.last_offset)
        if settled:
            self.pipeline.settle()
        if state.pause_before(offset, self.pipeline.last_offset):
            self.pipeline.idle()
        if settled and self._held_lines:
            # The pause the timer missed: what it would have let go.
            self._release_held_lines(offset)
        text = decoders[fd].decode(data)
        if text and self._held_lines is not None:
            text = self._line_aligned(fd, text)
        if text:
            self.pipeline.feed(offset, text)
        state.output(time.monotonic())
        if self.use_pty and self.detached and (b"\x1b[" in data or b"\x1b]" in data):
            self._answer_queries(data)

    # ---- helpers ----

    def _line_aligned(self, fd: int, text: str) -> str:
        """Pipe mode: ``text`` read from ``fd`` up to its last line end; the rest is held until
        the stream's next read completes it, or the output pauses.

        stdout and stderr are two pipes, and a block-buffered stdout is flushed in 4-8 KiB
        blocks that end mid-line: a warning on stderr then landed inside a stdout line
        ("line 12 of ordiWARNING: disk low" and "nary output"), and was lost or misread. The
        terminal still gets every byte at once (the pumps copy it); only what is recorded and
        extracted waits, at most until the next settle point."""
        held = self._held_lines.pop(fd, "")
        if held:
            text = held + text
        cut = text.rfind("\n") + 1
        if cut < len(text) and len(text) - cut <= MAX_HELD_LINE_CHARS:
            self._held_lines[fd] = text[cut:]
            return text[:cut]
        return text

    def _release_held_lines(self, offset: float) -> None:
        """Every stream's unfinished line goes on as it is, in the order they came."""
        held = "".join(self._held_lines.values())
        self._held_lines.clear()
        self.pipeline.feed(offset, held)

    def _pumped(self, source: int, terminal: int) -> tuple[int, int | None]:
        """A pump for ``source`` when one starts: (the fd the reader reads, where the reader
        copies what it reads: None when the pump copies to the terminal itself)."""
        pump, echoes = _start_pump(source, terminal)
        if pump is None:
            return source, terminal
        self.pumps[pump.stdout.fileno()] = (pump, source, terminal)
        return pump.stdout.fileno(), None if echoes else terminal

    def _pump_left_its_source(self, fd: int) -> bool:
        """The end of a pump's pipe came before its source's end: it was killed, or stopped."""
        entry = self.pumps.get(fd)
        if entry is None:
            return False
        # Its pipe closes as it exits: the status is there at once.
        return entry[0].wait() != 0 or self._pumps_stopped

    def _stop_pumps(self) -> bool:
        """Ask every pump to stop (sessions/pty_pump.py, SIGUSR1); False when there are none."""
        self._pumps_stopped = True
        for pump, _, _ in self.pumps.values():
            if pump.poll() is None:
                pump.send_signal(signal.SIGUSR1)
        return bool(self.pumps)

    def _passthrough(self, fd: int, data: bytes) -> None:
        if not self._passthrough_ok.get(fd, False):
            return
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            self._passthrough(fd, bytes(view))
        except OSError:
            # Our own stdout went away (closed pipe): keep capturing, stop echoing.
            self._passthrough_ok[fd] = False

    def _forward_stdin(self) -> bool:
        try:
            data = os.read(self.stdin_fd, READ_SIZE)
        except OSError as exc:
            if exc.errno == errno.EIO and self._saved_tty is not None:
                # Our terminal is gone (its emulator closed): hang up, as the terminal would.
                self._pending_signals.append(signal.SIGHUP)
                return False
            data = b""
        if not data:
            if self.use_pty:
                # Piped input into a terminal program: end it the way a terminal user would, but
                # not yet. A Ctrl-D is read by whatever reads next, and aider takes it at its
                # `Run shell command? [Yes]` as Enter, i.e. yes: it is typed only once the
                # program has gone quiet with no prompt waiting (run() checks at each tick).
                self._eof_held = True
            elif self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
                self._child_in = None
            return False
        self._write_child(data)
        if self.on_input is not None:
            self.on_input(data)
        return True

    def _write_child(self, data: bytes) -> None:
        if self._child_in is None:
            return
        try:
            os.write(self._child_in, data)
        except OSError:
            pass

    def _write_injected(self) -> None:
        with self._inject_lock:
            pending, self._inject = self._inject, []
        for data in pending:
            self._write_child(data)

    def _answer_queries(self, data: bytes) -> None:
        if _QUERY.search(data) is None:
            return  # colours and cursor moves, no question (most chunks holding an ESC)
        if self.answer_queries is not None:
            self.answer_queries(data)
            return
        for answer in query_answers(data, self.cursor_position):
            self._write_child(answer)

    def cursor_position(self) -> tuple[int, int]:
        """Where the screen emulator's cursor is, 1-based; the home position without one."""
        screen = getattr(self.pipeline, "screen", None)
        if screen is not None:
            return screen.cursor_position()
        return 1, 1

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _install_signal_handlers(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        old = {}

        def handler(signum, _frame):
            self._pending_signals.append(signum)
            self._wake()

        for sig in (*FORWARDED_SIGNALS, signal.SIGWINCH):
            old[sig] = signal.signal(sig, handler)
        return old

    def _forward_signals(self) -> None:
        while self._pending_signals:
            sig = self._pending_signals.pop(0)
            if sig == signal.SIGWINCH:
                self._resize()
                continue
            if sig == signal.SIGHUP:
                self.hung_up = True
            self.signals_forwarded.append(sig)
            try:
                # The child leads its own process group (pipe mode) or session (PTY mode):
                # signal the whole group, as a terminal would.
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def _resize(self) -> None:
        size = terminal_size(self.stdout_fd) or terminal_size(self.stdin_fd)
        if size is None or not self.use_pty:
            return
        self.size = size
        try:
            set_terminal_size(self.master, size)
        except OSError:
            return
        if self.on_resize is not None:
            self.on_resize(self.offset(), size)

    def _restore(self, old_handlers: dict) -> None:
        for sig, old in old_handlers.items():
            signal.signal(sig, old)
        if self._saved_tty is not None:
            try:
                termios.tcsetattr(self.stdin_fd, termios.TCSADRAIN, self._saved_tty)
            except (termios.error, OSError):
                pass  # the terminal hung up: there is no mode left to restore
            self._saved_tty = None
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        for pump, _, _ in self.pumps.values():
            # Still running only when it could not end after the stop (its terminal takes no
            # output), or the reader ended early (an exception).
            if pump.poll() is None:
                pump.kill()
            pump.wait()
            pump.stdout.close()
        if self.use_pty:
            try:
                os.close(self.master)
            except OSError:
                pass


def _start_pump(source: int, terminal: int) -> tuple[subprocess.Popen | None, bool]:
    """The output pump (sessions/pty_pump.py) that copies ``source`` (the PTY, or one of the
    program's pipes) to ``terminal`` and into a pipe to the reader, or None; and whether it
    copies to the terminal."""
    try:
        # Under a number of its own: the pump's own 1 is the pipe.
        terminal_copy = os.dup(terminal)
    except OSError:
        terminal_copy = None  # no terminal to copy to: the reader's passthrough says so
    argv = [sys.executable, "-I", "-S", PTY_PUMP, str(source), str(os.getpid())]
    if terminal_copy is not None:
        argv.append(str(terminal_copy))
    try:
        pump = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            pass_fds=(source,) if terminal_copy is None else (source, terminal_copy),
            # Out of the terminal's process group: keys like Ctrl-C are the program's business.
            start_new_session=True,
        )
    except OSError:
        return None, False
    finally:
        if terminal_copy is not None:
            os.close(terminal_copy)
    try:
        fcntl.fcntl(pump.stdout.fileno(), fcntl.F_SETPIPE_SZ, PUMP_PIPE_SIZE)
    except OSError:
        pass  # a lower pipe-max-size: the default 64 KiB still works
    return pump, terminal_copy is not None


def _take_controlling_tty() -> None:
    # Runs in the child after setsid(): make the pty slave (our stdin) the controlling terminal,
    # so Ctrl-C, job control and /dev/tty work as in a real terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _env_size() -> TermSize:
    try:
        return TermSize(int(os.environ.get("COLUMNS", 80)), int(os.environ.get("LINES", 24)))
    except ValueError:
        return TermSize()


def _is_readable_source(fd: int) -> bool:
    """False for a closed stdin and for /dev/null (whose EOF must not end a PTY program)."""
    try:
        st = os.fstat(fd)
        null = os.stat(os.devnull)
    except OSError:
        return False
    return not (st.st_rdev == null.st_rdev and st.st_ino == null.st_ino)
