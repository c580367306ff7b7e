"""ChildRunner with a real program and a fake pipeline: what the reader hands on, and when."""

from __future__ import annotations

import os
import sys
import threading

from sessions.tap.capture import ChildRunner
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


def run(code: str, tmp_path, **kwargs):
    pipeline = FakePipeline()
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    null = os.open(os.devnull, os.O_RDONLY)
    runner = ChildRunner(
        [sys.executable, "-c", code],
        pipeline,
        use_pty=False,
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


def test_output_goes_to_the_terminal_and_the_pipeline_with_a_settle_and_an_idle_point_at_each_pause(
    tmp_path,
):
    go = tmp_path / "go"
    program = (
        "import os, time\n"
        "print('one', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        "print('two')\n"
    )
    result = {}
    FakePipeline.last = None
    thread = threading.Thread(
        target=lambda: result.update(zip("cpr", run(program, tmp_path), strict=True))
    )
    thread.start()
    # The program waits for us: the pause after 'one' is a settle point, then an idle point.
    wait_for(lambda: result or (FakePipeline.last and ("idle",) in FakePipeline.last.calls))
    go.touch()
    thread.join(60)
    code, pipeline, runner = result["c"], result["p"], result["r"]
    assert code == 0
    assert (tmp_path / "out").read_bytes() == b"one\ntwo\n"
    assert runner.bytes_out == 8
    idle = pipeline.calls.index(("idle",))
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
