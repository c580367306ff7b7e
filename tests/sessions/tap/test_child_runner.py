"""ChildRunner with a real program and a fake pipeline: what the reader hands on, and when."""

from __future__ import annotations

import codecs
import os
import sys
import threading

import pytest

from sessions.tap import capture
from sessions.tap.capture import DRAIN_SECONDS, PTY_PUMP, ChildRunner, ReaderState
from tests.helpers import wait_for


class FakePipeline:
    last: FakePipeline | None = None

    def __init__(self):
        FakePipeline.last = self
        self.calls: list[tuple] = []
        self.last_offset = 0.0
        self.holding_secret = False
        self.screen = None

    def feed(self, offset, text):
        self.last_offset = offset
        self.calls.append(("feed", text))

    def settle(self):
        self.calls.append(("settle",))

    def idle(self):
        self.calls.append(("idle",))

    def release_overdue(self, offset):
        self.calls.append(("release", offset))


def run(code: str, tmp_path, use_pty: bool = False, **kwargs):
    pipeline = FakePipeline()
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    null = os.open(os.devnull, os.O_RDONLY)
    runner = ChildRunner(
        [sys.executable, "-c", code],
        pipeline,
        use_pty=use_pty,
        stdin_fd=null,
        stdout_fd=out,
        stderr_fd=out,
        **kwargs,
    )
    runner.start()
    code = runner.run()
    os.close(out)
    os.close(null)
    return code, pipeline, runner


def pause_idle(calls: list[tuple]) -> int | None:
    """Where the idle point of the pause after the program's first output is in ``calls``. A
    loaded machine can start the program slower than an idle interval: an idle point before any
    output is not the pause."""
    fed = next((i for i, call in enumerate(calls) if call[0] == "feed"), None)
    if fed is None or ("idle",) not in calls[fed:]:
        return None
    return calls.index(("idle",), fed)


def run_with_a_pause(before: str, after: str, tmp_path):
    """Run a program that does ``before`` (some output), waits until the reader has reached an
    idle point after it, then does ``after``; (exit code, pipeline, runner)."""
    go = tmp_path / "go"
    program = (
        f"import os, sys, time\n{before}\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n{after}\n"
    )
    result = {}
    FakePipeline.last = None
    thread = threading.Thread(
        target=lambda: result.update(zip("cpr", run(program, tmp_path), strict=True))
    )
    thread.start()
    wait_for(lambda: result or (FakePipeline.last and pause_idle(FakePipeline.last.calls)))
    go.touch()
    thread.join(60)
    return result["c"], result["p"], result["r"]


def test_output_goes_to_the_terminal_and_the_pipeline_with_a_settle_and_an_idle_point_at_each_pause(
    tmp_path,
):
    # The program waits for us: the pause after 'one' is a settle point, then an idle point.
    code, pipeline, runner = run_with_a_pause("print('one', flush=True)", "print('two')", tmp_path)
    assert code == 0
    assert (tmp_path / "out").read_bytes() == b"one\ntwo\n"
    assert runner.bytes_out == 8
    idle = pause_idle(pipeline.calls)
    assert pipeline.calls[idle - 1] == ("settle",)
    fed = [
        "".join(c[1] for c in calls if c[0] == "feed")
        for calls in (pipeline.calls[:idle], pipeline.calls[idle:])
    ]
    assert fed == ["one\n", "two\n"]


def test_the_exit_status_and_ticks_come_through(tmp_path):
    ticks = []
    code, _, _ = run("import sys; sys.exit(3)", tmp_path, on_tick=ticks.append)
    assert code == 3
    assert ticks


def test_input_sent_from_another_thread_reaches_the_program_with_enter_as_a_newline(tmp_path):
    pipeline = FakePipeline()
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    r, w = os.pipe()  # a stdin that stays open: the program's own pipe does too
    runner = ChildRunner(
        [sys.executable, "-c", "print('got', input())"],
        pipeline,
        use_pty=False,
        stdin_fd=r,
        stdout_fd=out,
        stderr_fd=out,
    )
    runner.start()
    runner.send_input(b"yes\r")
    assert runner.run() == 0
    os.close(w)
    os.close(r)
    assert (tmp_path / "out").read_bytes() == b"got yes\n"


def test_in_pipe_mode_a_stderr_line_goes_before_an_unfinished_stdout_line_not_inside_it(tmp_path):
    # stdout and stderr are two pipes: a block-buffered stdout flushed mid-line, then a line on
    # stderr, then the rest of the stdout line (read in that order, within one settle window).
    pipeline = FakePipeline()
    runner = ChildRunner(["true"], pipeline, use_pty=False)
    # Every read at the session's first instant: the window is the test's premise, not the
    # machine's speed (a busy machine took more than the 4 ms between two of these reads).
    runner.offset = lambda: 0.0
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    runner.out_fds = {stdout_r: None, stderr_r: None}
    decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in runner.out_fds}
    state = ReaderState()
    for fd, data in (
        (stdout_w, b"step 5 of the ordi"),
        (stderr_w, b"WARNING: disk low\n"),
        (stdout_w, "nary output, caf\xc3".encode("latin-1")),  # and half a character
        (stdout_w, b"\xa9\nstep 6"),
    ):
        os.write(fd, data)
        runner._read_output(stdout_r if fd == stdout_w else stderr_r, decoders, state)
    assert [c[1] for c in pipeline.calls if c[0] == "feed"] == [
        "WARNING: disk low\n",
        "step 5 of the ordinary output, café\n",
    ]
    # The end of the stream lets its unfinished line go.
    os.close(stdout_w)
    runner._read_output(stdout_r, decoders, state)
    assert pipeline.calls[-1] == ("feed", "step 6")
    for fd in (stdout_r, stderr_r, stderr_w):
        os.close(fd)


def test_in_pipe_mode_an_unfinished_line_goes_on_at_the_next_settle_point(tmp_path):
    # A prompt waits on an unfinished line: it is held only until the output pauses.
    _, pipeline, _ = run_with_a_pause(
        "sys.stdout.write('Continue? [y/N] '); sys.stdout.flush()", "print('done')", tmp_path
    )
    calls = pipeline.calls
    idle = pause_idle(calls)
    assert [c for c in calls[:idle] if c[0] not in ("settle", "idle")] == [
        ("feed", "Continue? [y/N] ")
    ]
    assert calls[idle - 1] == ("settle",)
    assert "".join(c[1] for c in calls[idle:] if c[0] == "feed") == "done\n"


@pytest.mark.parametrize("use_pty", [False, True], ids=["pipe", "pty"])
def test_a_pump_still_starting_when_the_program_has_ended_loses_none_of_its_output(
    tmp_path, monkeypatch, use_pty
):
    # On a loaded machine (CI) an output pump took longer to start than the program took to
    # run and the reader's drain to go quiet: it was killed with the output unread in its
    # source, and the run showed and stored nothing. Here each pump starts a second late.
    late_pump = tmp_path / "late_pump.py"
    late_pump.write_text(
        "import runpy, sys, time\n"
        f"time.sleep({DRAIN_SECONDS * 4})\n"
        f"sys.argv[0] = {PTY_PUMP!r}\n"
        f"runpy.run_path({PTY_PUMP!r}, run_name='__main__')\n"
    )
    monkeypatch.setattr(capture, "PTY_PUMP", str(late_pump))
    code, pipeline, _ = run(
        "for i in range(250): print(f'ERROR: failure {i}')", tmp_path, use_pty=use_pty
    )
    expected = "".join(f"ERROR: failure {i}\n" for i in range(250))
    shown = (tmp_path / "out").read_bytes().decode()
    assert code == 0
    assert shown.replace("\r\n", "\n") == expected  # a terminal may end its lines with \r\n
    assert "".join(c[1] for c in pipeline.calls if c[0] == "feed") == shown
