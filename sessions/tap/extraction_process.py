"""Extraction in a process of its own, off the reader's path.

The reader only copies, redacts and records (``front.RecordingFront``); every chunk it records
is also handed here, in order, with the idle points the reader decided from the recorded times.
This process runs the one ``Pipeline`` (without redactor or recorder: the stream it gets is the
recorded one) and sends the numbered event rows back, where ``events.EventRouter`` gives them to
the prompt controller, the writer and the publisher. So the wrapped program runs at the pace of
the copy and the recording: when it prints faster than the rules can be run, the extraction
falls behind and catches up after (its input waits in the tap's outbox, bounded, then in the
socket). A program waiting at a prompt is idle, so the extraction then has the CPU and the
prompt is found as soon as the idle point reaches it (NICENESS says why it is not niced).

The events' identities do not change: the pipeline sees exactly the recorded chunks and idle
points, in the same order as ``recover`` replays them.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

from extraction.engine.fingerprint import Fingerprints

from .capture import query_answers
from .framing import Outbox, recv, send
from .helper_process import become_helper, fork_child, reap, shut

log = logging.getLogger(__name__)

# The extraction's niceness. It runs in a process of its own, so the program no longer waits for
# it; a lower priority (5) was tried and is not the default: on a machine busy with other work
# the extraction then answered a detached terminal's cursor-position query, and looked for
# prompts, late enough that aider redrew its question and it was reported twice
# (tests/agents/test_terminal_flows.py failed 2 of 2 at 5 and passed at 0). Prompts come first.
NICENESS = 0
# Output waiting in the tap for the extraction process beyond which the reader waits. The
# program is not held back by it: the output pumps (sessions/pty_pump.py) hold the larger
# backlog, as bytes in a small process. Here it costs ~2.5× its size in the tap (queued text,
# the frame being sent): 128 MiB made a 1M-line flood peak at 204 MB, 4 MiB at 92 MB, with the
# program's time unchanged (bench_program_time, session 9).
MAX_BACKLOG_BYTES = 4 << 20


class ExtractionProcess:
    """The parent's side: send chunks and idle points, receive rows.

    ``pipeline`` is built by the caller before ``start()`` and used only in the child after it.
    ``on_rows(rows)`` and ``on_input(data)`` run on this side's receiving thread, in the order
    the child produced them.
    """

    def __init__(
        self,
        pipeline,
        *,
        answer_queries: bool = False,
        niceness: int = NICENESS,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
    ):
        self.pipeline = pipeline
        self.answer_queries = answer_queries
        self.niceness = niceness
        self.max_backlog_bytes = max_backlog_bytes
        self.on_rows: Callable[[list[dict]], None] = lambda rows: None
        self.on_input: Callable[[bytes], None] = lambda data: None
        self.on_prompt_passed: Callable[[int], None] = lambda seq: None
        # What the child last reported: lines read and events numbered so far.
        self.lines = 0
        self.seq = 0
        self.pid: int | None = None
        self.dead = False
        self._idles_sent = 0
        self._idles_done = 0
        self._syncs = 0
        self._cond = threading.Condition()
        self._closed: tuple[int, int] | None = None
        self._outbox: Outbox | None = None

    # ---- lifecycle ----

    def start(self) -> None:
        """Fork the child. Call before this process starts any thread."""
        self.pid, self._sock = fork_child(
            lambda sock: _child_main(self.pipeline, sock, self.niceness, self.answer_queries),
            "extraction",
        )

    def listen(self, *, on_rows, on_input=None, on_prompt_passed=None) -> None:
        """Start the threads that talk to the child: ``on_rows`` gets every batch of rows,
        ``on_prompt_passed(seq)`` each prompt the program printed text after (Pipeline's)."""
        self.on_rows = on_rows
        if on_input is not None:
            self.on_input = on_input
        if on_prompt_passed is not None:
            self.on_prompt_passed = on_prompt_passed
        self._outbox = Outbox(
            self._sock, max_bytes=self.max_backlog_bytes, name="streamtap-extract-send"
        )
        threading.Thread(target=self._recv_loop, name="streamtap-extract-recv", daemon=True).start()

    def close(self, timeout: float | None = None) -> tuple[int, int]:
        """The output has ended: the child finishes (catching up first). (seq, lines)."""
        self._put(("close",))
        self._outbox.close()
        with self._cond:
            self._cond.wait_for(lambda: self._closed is not None or self.dead, timeout)
        reap(self.pid)
        return self._closed or (self.seq, self.lines)

    def abandon(self) -> None:
        """The program never started: stop the child without anything to extract."""
        shut(self._sock)
        reap(self.pid)

    # ---- from the reader's thread (never waits, within the backlog bound) ----

    def feed(self, offset: float, text: str) -> None:
        self._put(("feed", offset, text), len(text))

    def settle(self) -> None:
        """A settle point: the child finishes a block that stands complete."""
        self._put(("settle",))

    def idle(self) -> None:
        """An idle point: the child looks for a prompt once it has extracted everything before."""
        with self._cond:
            self._idles_sent += 1
            n = self._idles_sent
        self._put(("idle", n))

    def add_events(self, events: list) -> None:
        """Events from another channel (hooks, transcript), numbered with the output's."""
        if events:
            self._put(("events", events))

    def resize(self, cols: int, rows: int) -> None:
        self._put(("resize", cols, rows))

    def query(self, data: bytes) -> None:
        """The program asked the terminal something (cursor position …): the child answers
        from its screen once it has read everything before, through ``on_input``."""
        self._put(("query", data))

    def caught_up(self) -> bool:
        """Every idle point sent has been looked at (and its prompt, if any, routed)."""
        return self.dead or self._idles_done >= self._idles_sent

    def sync(self, timeout: float | None = None) -> int:
        """Wait until the child has read everything sent so far; the lines it has read."""
        with self._cond:
            self._syncs += 1
            n = self._syncs
        self._put(("sync", n))
        with self._cond:
            self._cond.wait_for(lambda: self._synced >= n or self.dead, timeout)
        return self.lines

    _synced = 0

    def _put(self, message: tuple, size: int = 0) -> None:
        if self.dead or self._outbox is None:
            return
        self._outbox.put(message, size)

    # ---- this side's receiving thread ----

    def _recv_loop(self) -> None:
        try:
            while True:
                batch = recv(self._sock)
                if batch is None:
                    break
                for message in batch:
                    self._handle(message)
                    if message[0] == "closed":
                        return
        except OSError:
            pass
        except Exception:
            log.exception("streamtap: routing the extraction's events failed")
        finally:
            with self._cond:
                self.dead = self._closed is None
                if self.dead:
                    log.warning("streamtap: the extraction process ended early; `recover` rebuilds")
                self._cond.notify_all()

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "rows":
            self.lines = message[2]
            self.seq = message[1][-1]["seq"]
            self.on_rows(message[1])
        elif kind == "input":
            self.on_input(message[1])
        elif kind == "prompt_passed":
            self.on_prompt_passed(message[1])
        elif kind == "idle_done":
            with self._cond:
                self._idles_done = message[1]
                self.lines = message[2]
                self._cond.notify_all()
        elif kind == "synced":
            with self._cond:
                self._synced, self.lines = message[1], message[2]
                self._cond.notify_all()
        elif kind == "closed":
            with self._cond:
                self.seq, self.lines = message[1], message[2]
                self._closed = (self.seq, self.lines)
                self._cond.notify_all()


def _child_main(pipeline, sock: socket.socket, niceness: int, answer_queries: bool) -> None:
    if not become_helper(b"streamtap-ext", niceness):
        return  # the tap is already gone
    run_extraction(pipeline, lambda: recv(sock), lambda out: send(sock, out), answer_queries)


def run_extraction(pipeline, receive, reply, answer_queries: bool = False) -> None:
    """The child's loop, apart from its process: ``receive()`` gives the next list of messages
    (None at the end), ``reply(list)`` sends what they produced, once per list received."""
    out: list[tuple] = []
    fingerprints = Fingerprints()

    def on_events(rows: list[dict]) -> None:
        fingerprints.mark(rows)  # here, not in the writer: the writer is the tap's last stage
        out.append(("rows", rows, pipeline.lines))

    pipeline.on_events = on_events
    pipeline.on_prompt_passed = lambda seq: out.append(("prompt_passed", seq))
    pipeline.on_output = None  # the reader publishes the output itself, at once
    while True:
        batch = receive()
        if batch is None:
            return  # the tap went away without closing (killed)
        for message in batch:
            kind = message[0]
            if kind == "feed":
                pipeline.feed(message[1], message[2])
            elif kind == "settle":
                pipeline.settle()
            elif kind == "idle":
                pipeline.idle()
                out.append(("idle_done", message[1], pipeline.lines))
            elif kind == "events":
                pipeline.add_events(message[1])
            elif kind == "resize":
                if pipeline.screen is not None:
                    pipeline.screen.resize(message[1], message[2])
            elif kind == "query":
                if answer_queries:
                    screen = pipeline.screen
                    cursor = screen.cursor_position if screen is not None else lambda: (1, 1)
                    out.append(("input", b"".join(query_answers(message[1], cursor))))
            elif kind == "sync":
                out.append(("synced", message[1], pipeline.lines))
            elif kind == "close":
                pipeline.close()
                out.append(("closed", pipeline.seq, pipeline.lines))
                reply(out)
                return
        if out:
            reply(out)
            out = []
