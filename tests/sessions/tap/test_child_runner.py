"""ChildRunner with a real program and a fake pipeline: what the reader hands on, and when."""

import os
import sys

from sessions.capture import ChildRunner


class FakePipeline:
    def __init__(self):
        self.calls: list[tuple] = []
        self.last_offset = 0.0
        self.holding_secret = False
        self.screen = None

    def feed(self, offset, text):
        self.last_offset = offset
        self.calls.append(("feed", text))

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


def test_output_goes_to_the_terminal_and_the_pipeline_with_an_idle_point_at_each_pause(tmp_path):
    code, pipeline, runner = run(
        "import time; print('one', flush=True); time.sleep(0.4); print('two')", tmp_path
    )
    assert code == 0
    assert (tmp_path / "out").read_bytes() == b"one\ntwo\n"
    assert runner.bytes_out == 8
    assert pipeline.calls.index(("feed", "one\n")) < pipeline.calls.index(("idle",))
    assert pipeline.calls.index(("idle",)) < pipeline.calls.index(("feed", "two\n"))


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
