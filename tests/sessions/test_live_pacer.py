"""FramePacer: when the tap's publisher and a browser's consumer may send the next frame."""

import pytest

from sessions.live import FramePacer


def test_a_lone_event_goes_out_at_once_right_after_its_chunks_output_frame():
    pacer = FramePacer(window=0.05, burst=3)
    assert pacer.wait(10.0) == 0.0
    pacer.sent(10.0)  # the chunk's output
    assert pacer.wait(10.004) == 0.0  # its event, settled 4 ms later: not held a window
    pacer.sent(10.004)
    assert pacer.wait(10.1) == 0.0


def test_a_busy_session_gets_a_few_frames_per_window():
    pacer = FramePacer(window=0.05, burst=3)
    for now in (1.0, 1.001, 1.002):
        assert pacer.wait(now) == 0.0
        pacer.sent(now)
    # The fourth frame waits until the oldest of the last three is a window old.
    assert pacer.wait(1.003) == pytest.approx(0.047)
    assert pacer.wait(1.06) == 0.0
