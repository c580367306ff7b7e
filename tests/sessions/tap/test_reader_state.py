"""ReaderState: when the reader loop sees a settle or idle point, waits, ticks and stops."""

import pytest

from sessions.tap.capture import (
    DRAIN_SECONDS,
    IDLE_SECONDS,
    SETTLE_SECONDS,
    TICK_SECONDS,
    ReaderState,
)


def test_an_idle_point_comes_a_quiet_spell_after_output_and_only_once():
    s = ReaderState()
    assert not s.idle_due(100.0)  # nothing printed yet
    s.output(10.0)
    s.settle_fired = True
    assert s.timeout(10.0) == pytest.approx(IDLE_SECONDS)
    assert not s.idle_due(10.0 + IDLE_SECONDS / 2)
    assert s.idle_due(10.0 + IDLE_SECONDS * 1.01)
    s.idle_fired = True
    assert not s.idle_due(20.0)
    assert s.quiet()


def test_a_settle_point_comes_a_short_pause_after_output_before_the_idle_point():
    s = ReaderState()
    assert not s.settle_due(100.0)
    s.output(10.0)
    assert s.timeout(10.0) == pytest.approx(SETTLE_SECONDS)
    assert not s.settle_due(10.0 + SETTLE_SECONDS / 2)
    assert s.settle_due(10.0 + SETTLE_SECONDS * 1.01)
    assert not s.idle_due(10.0 + SETTLE_SECONDS * 1.01)
    s.settle_fired = True
    assert s.timeout(10.0 + SETTLE_SECONDS) == pytest.approx(IDLE_SECONDS - SETTLE_SECONDS)
    s.output(11.0)  # more output: both points come again
    assert s.settle_due(11.0 + SETTLE_SECONDS * 1.01)


def test_a_chunk_after_a_short_pause_the_timer_missed_is_a_settle_point_by_its_offset():
    s = ReaderState()
    assert not s.settle_before(5.0, 0.0)  # the first output
    s.output(1.0)
    assert s.settle_before(1.0 + SETTLE_SECONDS * 1.01, 1.0)
    assert not s.settle_before(1.0 + SETTLE_SECONDS / 2, 1.0)


def test_a_chunk_after_a_pause_the_timer_missed_is_an_idle_point_by_its_offset():
    s = ReaderState()
    assert not s.pause_before(5.0, 0.0)  # the first output
    s.output(1.0)
    assert s.pause_before(2.0 + IDLE_SECONDS * 1.01, 2.0)
    assert not s.pause_before(1.0 + IDLE_SECONDS / 2, 1.0)


def test_after_the_program_exits_output_drains_until_a_quiet_spell():
    s = ReaderState()
    s.exited_at = 50.0
    assert s.timeout(50.0) == pytest.approx(DRAIN_SECONDS)
    assert not s.drained(50.0 + DRAIN_SECONDS, busy=True)
    assert not s.drained(50.0 + DRAIN_SECONDS / 2, busy=False)
    assert s.drained(50.0 + DRAIN_SECONDS * 1.01, busy=False)


def test_output_after_the_exit_keeps_the_drain_going_until_it_pauses():
    # A pump still copying a flood's backlog after the program exited: one empty select()
    # round must not end the read while output keeps coming.
    s = ReaderState()
    s.exited_at = 50.0
    s.output(50.0 + DRAIN_SECONDS * 2)
    s.settle_fired = s.idle_fired = True
    assert not s.drained(50.0 + DRAIN_SECONDS * 2.5, busy=False)
    assert s.timeout(50.0 + DRAIN_SECONDS * 2.5) == pytest.approx(DRAIN_SECONDS / 2)
    assert s.drained(50.0 + DRAIN_SECONDS * 3.01, busy=False)


def test_ticks_come_once_per_interval_while_busy_and_at_every_quiet_wake_up():
    s = ReaderState()
    assert s.tick_due(1.0, busy=True)
    assert not s.tick_due(1.0 + TICK_SECONDS / 2, busy=True)
    assert s.tick_due(1.0 + TICK_SECONDS / 2, busy=False)
    assert s.tick_due(1.0 + TICK_SECONDS * 2, busy=True)
