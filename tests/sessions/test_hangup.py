"""Closing the terminal while the program waits at a prompt (issue 14 item 7).

The tap runs in a real terminal of its own (``pty.fork``: the tap is the session leader and the
PTY its controlling terminal); the test is the terminal emulator, and closing its end of the
PTY is closing the window: the kernel hangs up the tap (SIGHUP, then EIO on every read and
write of the terminal).
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time

import pytest

from extraction.models import ExtractionEvent
from sessions.models import ProcessSession
from tests.helpers import wait_for

from .conftest import py, tap_argv

pytestmark = pytest.mark.django_db(transaction=True)


def read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"{needle!r} not shown within {timeout} s; shown: {seen!r}")
        seen += os.read(fd, 4096)
    return seen


def wait_exit(pid: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the tap did not exit after the hang-up")


def test_closing_the_terminal_at_a_prompt_ends_the_session_killed_without_a_traceback(tap_env):
    argv = tap_argv("--pty", "--", *py("input('Delete the cache? [y/N] ')"))
    pid, terminal = pty.fork()
    if pid == 0:  # the tap, in its own terminal
        os.execve(sys.executable, argv, tap_env)
    try:
        read_until(terminal, b"Delete the cache? [y/N]")
        wait_for(lambda: ProcessSession.objects.filter(status="waiting_for_input").exists())
    finally:
        os.close(terminal)  # the window is closed
    status = wait_exit(pid)
    # The tap ends with the program's status: a traceback (the old termios.error EIO in the
    # terminal restore) would have made it 1.
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signal.SIGHUP
    session = ProcessSession.objects.get()
    assert (session.status, session.exit_code, session.exit_signal) == ("killed", 129, 1)
    states = list(session.state_changes.order_by("id").values_list("state", "metadata"))
    assert states[-1] == ("killed", {"exit_code": 129, "signal": 1})
    assert ("prompt_answered", "unanswered") in [(s, m.get("outcome")) for s, m in states]
    prompt = ExtractionEvent.objects.get(session=session, event_type="prompt")
    assert prompt.prompt_decision == "unanswered"
