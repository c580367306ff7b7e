"""FramePacer: when the tap's publisher and a browser's consumer may send the next frame."""

import pytest

from sessions.live import FramePacer


def test_a_lone_event_goes_out_at_once_right_after_its_chunks_output_frame():
    pacer = FramePacer(window=0.05, burst=2)
    assert pacer.wait(10.0) == 0.0
    pacer.sent(10.0)  # the chunk's output
    assert pacer.wait(10.004) == 0.0  # its event, settled 4 ms later: not held a window
    pacer.sent(10.004)
    # The next line, 100 ms later (10 events/s), goes at once too.
    assert pacer.wait(10.1) == 0.0


def test_a_busy_session_gets_one_frame_per_window_after_a_burst():
    pacer = FramePacer(window=0.05, burst=2)
    for now in (1.0, 1.001):
        assert pacer.wait(now) == 0.0
        pacer.sent(now)
    # The third waits until a frame's worth has come back: one window after the burst began.
    assert pacer.wait(1.002) == pytest.approx(0.05 - 0.002)
    pacer.sent(1.05)
    assert pacer.wait(1.05) == pytest.approx(0.05)
    pacer.sent(1.10)
    assert pacer.wait(1.10) == pytest.approx(0.05)
