"""The tap's writer in a process of its own, behind the BatchWriter's interface.

A writer thread inside the tap shared the interpreter lock with the thread that copies the
program's output: SQLite's ``executemany`` gives the lock up around every row and waits up to a
switch interval to get it back, so persistence crawled (≈3,500 events/s) and slowed the reader.
Forked at start (before any thread exists), the writer process owns the database side alone; the
tap hands it rows over a socket and never waits for it:

- the tap's reader thread sends a chunk's rows itself when nothing is queued and the socket
  takes them without waiting; otherwise they go to an outbox, which a sender thread pickles and
  writes to the socket (blocking there, without the lock, when the writer lags);
- the writer process runs the unchanged BatchWriter (batches, retries, spill) plus a thread that
  reads the socket into it, and reports back the session row and the final outcome;
- it dies with the tap (PR_SET_PDEATHSIG): a tap killed with -9 leaves what it left before, a
  "running" session that ``recover`` rebuilds from the recording; and it ignores the terminal's
  signals, which the tap forwards to the program and answers with an orderly finish.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import SimpleNamespace

from django.db import connections

from .framing import frame as _frame
from .framing import recv as _recv
from .framing import send as _send
from .helper_process import become_helper, fork_child, reap, shut

log = logging.getLogger(__name__)

# The parent's outbox, in events, beyond which new ones are dropped (the recording keeps them
# and ``recover`` rebuilds): the writer process has its own, larger, bound.
MAX_OUTBOX_EVENTS = 200_000
WRITER_NICENESS = 5


class WriterProcess:
    """Spawns ``make_writer(on_session)`` (a BatchWriter or RemoteWriter) in a child process."""

    def __init__(self, make_writer, *, on_session=None):
        self._make_writer = make_writer
        self.on_session = on_session
        self.session = None
        self.spill_path = None
        self.dropped_events = 0
        self._cond = threading.Condition()
        self._outbox: list[tuple] = []
        self._outbox_events = 0
        # The rest of a frame the reader began to send itself: it goes out before the outbox.
        self._unsent = b""
        # The sender thread is writing to the socket (outside the lock).
        self._sending = False
        self._closing = False
        self._done = threading.Event()
        self._result: dict | None = None
        self.pid: int | None = None

    # ---- lifecycle ----

    def start(self) -> None:
        # No connection may cross the fork: each side opens its own.
        connections.close_all()
        self.pid, self._sock = fork_child(
            lambda sock: _child_main(self._make_writer, sock), "writer"
        )
        threading.Thread(target=self._send_loop, name="streamtap-writer-send", daemon=True).start()
        threading.Thread(target=self._recv_loop, name="streamtap-writer-recv", daemon=True).start()

    def finish(self, *, timeout: float = 10.0, **finish) -> bool:
        """Final flush in the writer process; True when everything reached the database."""
        if self.dropped_events:  # the outbox's drops join the writer's in the session's stats
            self._put(("stats", {"dropped_events": self.dropped_events}))
        self._put(("finish", {**finish, "timeout": timeout}))
        with self._cond:
            self._closing = True
            self._cond.notify()
        # The writer process spills on its own once its deadline passes; a little more here.
        if not self._done.wait(timeout + 15):
            log.warning("streamtap: the writer process did not answer; `recover` will rebuild")
            os.kill(self.pid, signal.SIGKILL)
        reap(self.pid)
        result = self._result or {"stored": False, "spill_path": None}
        self.spill_path = result.get("spill_path")
        return bool(result["stored"])

    def abandon(self) -> None:
        """The program never started: the writer process stops without writing anything."""
        with self._cond:
            self._outbox.clear()
            self._unsent = b""
            self._closing = True
            self._cond.notify()
        # Shut, not only closed: that wakes the receiving thread and ends the writer's read.
        shut(self._sock)
        reap(self.pid)

    # ---- the BatchWriter interface (called from the tap's threads; never blocks on I/O) ----

    def add_events(self, rows: list[dict]) -> None:
        with self._cond:
            if not (self._outbox or self._unsent or self._sending or self._closing):
                # Nothing queued and the socket free: send from here, without waiting. Waking
                # the sender thread for every chunk cost the reader ~0.2 s of interpreter-lock
                # hand-overs per million lines; a full socket leaves the rest to that thread.
                self._send_without_waiting([("events", rows)])
                return
            room = MAX_OUTBOX_EVENTS - self._outbox_events
            if room < len(rows):
                self.dropped_events += len(rows) - max(room, 0)
                rows = rows[: max(room, 0)]
            if not rows:
                return
            self._outbox_events += len(rows)
            self._outbox.append(("events", rows))
            self._cond.notify()

    def _send_without_waiting(self, message) -> None:
        """Called with the lock held, nothing queued and the sender idle."""
        frame = _frame(message)
        try:
            sent = self._sock.send(frame, socket.MSG_DONTWAIT)
        except OSError:  # full (EAGAIN), or broken: the sender thread retries and reports
            sent = 0
        if sent < len(frame):
            self._unsent = frame[sent:]
            self._cond.notify()

    def add_state(self, state: str, metadata: dict | None = None, at: float | None = None) -> None:
        # Timed here, not when the writer process gets to it: a state change queued behind a
        # flood of events was stamped after the session's end.
        self._put(("state", state, metadata, at if at is not None else time.time()))

    def update_stats(self, **stats) -> None:
        self._put(("stats", stats))

    def set_pid(self, pid: int) -> None:
        self._put(("pid", pid))

    def _put(self, message: tuple) -> None:
        with self._cond:
            self._outbox.append(message)
            self._cond.notify()

    # ---- the tap side's threads ----

    def _send_loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._outbox and not self._unsent and not self._closing:
                        self._cond.wait()
                    unsent, self._unsent = self._unsent, b""
                    outbox, self._outbox = self._outbox, []
                    self._outbox_events = 0
                    closing = self._closing
                    self._sending = True
                try:
                    if unsent:
                        self._sock.sendall(unsent)
                    if outbox:
                        # One message per wake-up: a busy reader hands over many chunks at once.
                        _send(self._sock, outbox)
                finally:
                    with self._cond:
                        self._sending = False
                if closing:
                    with self._cond:
                        if not self._outbox and not self._unsent:
                            return
        except OSError as exc:
            log.warning("streamtap: lost the writer process (%s)", exc)
            self._done.set()

    def _recv_loop(self) -> None:
        try:
            while True:
                message = _recv(self._sock)
                if message is None:
                    break
                kind = message[0]
                if kind == "session":
                    self.session = SimpleNamespace(session_id=message[1], pk=message[2])
                    if self.on_session:
                        self.on_session(self.session)
                elif kind == "done":
                    self._result = message[1]
                    break
        except OSError:
            pass
        finally:
            self._done.set()


def _child_main(make_writer, sock: socket.socket) -> None:
    # Persistence, like extraction, takes the CPU the wrapped program leaves (issue 19).
    if not become_helper(b"streamtap-db", WRITER_NICENESS):
        return  # the tap is already gone
    send_lock = threading.Lock()

    def reply(message) -> None:
        with send_lock:
            _send(sock, message)

    writer = make_writer(lambda session: reply(("session", session.session_id, session.pk)))
    while True:
        batch = _recv(sock)
        if batch is None:
            # The tap went away without finishing (killed): keep nothing back, stop here.
            return
        for message in batch:
            kind = message[0]
            if kind == "events":
                writer.add_events(message[1])
            elif kind == "state":
                writer.add_state(message[1], message[2], message[3])
            elif kind == "stats":
                writer.update_stats(**message[1])
            elif kind == "pid":
                # The program runs: now the session row is worth creating (with its pid).
                writer.spec.pid = message[1]
                writer.start()
            elif kind == "finish":
                if not writer.is_alive():
                    writer.start()
                stored = writer.finish(**message[1])
                spill_path = str(writer.spill_path) if writer.spill_path else None
                reply(("done", {"stored": stored, "spill_path": spill_path}))
                return
