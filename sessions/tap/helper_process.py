"""What the tap's two helper processes (extraction, writer) share: being forked with a socket to
the tap, becoming a quiet child that dies with the tap, and being stopped and reaped."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

GC_THRESHOLDS = (100_000, 50, 100)
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def fork_child(child_main: Callable[[socket.socket], None], what: str) -> tuple[int, socket.socket]:
    """Fork a child that runs ``child_main(its socket)`` and exits; (its pid, the tap's socket).
    Call before this process starts any thread."""
    parent_sock, child_sock = socket.socketpair()
    # Everything alive now (Django, the rules, compiled matchers) lives as long as the tap:
    # frozen, the collector in neither process walks it, so the child's collections do not copy
    # the pages it shares with the tap (and the tap's are shorter).
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child (covered by the tap tests)
        # The helpers make rows by the ten thousand (built or unpickled, queued, batched) and
        # none of them is part of a cycle: at the default threshold (700) the collector ran
        # every few hundred rows, walked the whole queue and found nothing (3-5 % of the
        # writer's and the extraction's CPU on the heavy bench input). The tap itself keeps
        # the default: it hosts the live publisher, whose memory issue 19 bounds, and this
        # was measured only where rows are the work.
        gc.set_threshold(*GC_THRESHOLDS)
        parent_sock.close()
        code = 1
        try:
            child_main(child_sock)
            code = 0
        except BaseException:
            log.exception("streamtap %s process failed", what)
        finally:
            os._exit(code)
    child_sock.close()
    return pid, parent_sock


def become_helper(name: bytes, niceness: int) -> bool:
    """In the child: die with the tap (PR_SET_PDEATHSIG), take ``name`` in top and ps -o comm
    (at most 15 bytes; the command line stays the tap's), ignore the terminal's signals (the tap
    forwards them to the program and answers with an orderly finish) and run at ``niceness``.
    False when the tap is already gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    libc.prctl(_PR_SET_NAME, name)
    if os.getppid() == 1:
        return False
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        os.nice(niceness)
    except OSError:
        pass
    return True


def shut(sock: socket.socket) -> None:
    """Close the socket to a child so that both sides' reads end (close() alone would not wake
    a thread blocked reading it)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
