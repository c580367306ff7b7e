"""A session whose tap stopped beating is lost, on the server's own judgement (no `recover`).

Runs on the configured database: SQLite by default, PostgreSQL with DATABASE_URL.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from sessions.liveness import sweep
from sessions.models import LOST_AFTER_BEATS, ProcessSession, SessionStatus, heartbeat_seconds
from tests.factories import make_session
from tests.helpers import wait_for
from tests.sessions.conftest import py
from tests.sessions.helpers import start_tap

pytestmark = pytest.mark.django_db


def beats_ago(n: float) -> timezone.datetime:
    return timezone.now() - timedelta(seconds=n * heartbeat_seconds())


def running(**fields) -> ProcessSession:
    fields.setdefault("started_at", beats_ago(100))
    return make_session(status=SessionStatus.RUNNING, **fields)


def test_a_session_whose_tap_stopped_beating_is_lost_with_a_state_change():
    session = running(last_heartbeat=beats_ago(LOST_AFTER_BEATS + 1))

    assert ProcessSession.objects.mark_lost() == [session]

    session.refresh_from_db()
    assert session.status == SessionStatus.LOST
    assert session.ended_at is None  # nobody knows when the program ended
    change = session.state_changes.order_by("-timestamp", "-id").first()
    assert change.state == "lost"
    assert change.metadata["reason"] == "no heartbeat"
    assert change.metadata["was"] == "running"


def test_a_session_that_beat_recently_stays_running():
    session = running(last_heartbeat=beats_ago(LOST_AFTER_BEATS - 1))

    assert ProcessSession.objects.mark_lost() == []
    session.refresh_from_db()
    assert session.status == SessionStatus.RUNNING


def test_a_session_without_heartbeat_is_judged_by_its_start():
    young = running(session_id="young", started_at=beats_ago(1))
    old = running(session_id="old", started_at=beats_ago(LOST_AFTER_BEATS + 1))

    assert ProcessSession.objects.mark_lost() == [old]
    young.refresh_from_db()
    assert young.status == SessionStatus.RUNNING


def test_a_session_waiting_for_an_answer_is_lost_too_when_its_tap_is_gone():
    session = make_session(
        status=SessionStatus.WAITING_FOR_INPUT, started_at=beats_ago(LOST_AFTER_BEATS + 5)
    )

    assert ProcessSession.objects.mark_lost() == [session]
    assert session.state_changes.get(state="lost").metadata["was"] == "waiting_for_input"


@pytest.mark.parametrize("status", ["completed", "failed", "killed", "lost"])
def test_finished_sessions_are_left_alone(status):
    make_session(status=status, started_at=beats_ago(1000))

    assert ProcessSession.objects.mark_lost() == []


def test_a_second_sweep_records_nothing_more():
    session = running(last_heartbeat=beats_ago(10))
    ProcessSession.objects.mark_lost()

    assert ProcessSession.objects.mark_lost() == []
    assert session.state_changes.filter(state="lost").count() == 1


def test_a_lost_session_whose_tap_beats_again_runs_again():
    session = running(last_heartbeat=beats_ago(10))
    ProcessSession.objects.mark_lost()
    ProcessSession.objects.filter(pk=session.pk).update(last_heartbeat=timezone.now())

    assert ProcessSession.objects.revive() == [session]
    session.refresh_from_db()
    assert session.status == SessionStatus.RUNNING
    assert session.state_changes.order_by("-timestamp", "-id").first().metadata == {
        "reason": "heartbeat again"
    }


def test_a_session_recover_finished_as_lost_is_not_revived():
    # `recover` ends a lost session (ended_at set): that one is over for good.
    session = make_session(status=SessionStatus.LOST, last_heartbeat=timezone.now())

    assert ProcessSession.objects.revive() == []
    session.refresh_from_db()
    assert session.status == SessionStatus.LOST


def test_live_sessions_now_are_those_with_a_fresh_heartbeat():
    fresh = running(session_id="fresh", last_heartbeat=beats_ago(1))
    running(session_id="silent", last_heartbeat=beats_ago(LOST_AFTER_BEATS + 1))
    # Started 26 hours ago and still beating: live.
    long_run = running(
        session_id="long",
        started_at=timezone.now() - timedelta(hours=26),
        last_heartbeat=beats_ago(0),
    )
    make_session(session_id="done", status=SessionStatus.COMPLETED)

    assert set(ProcessSession.objects.alive()) == {fresh, long_run}


def test_sweep_gives_the_live_frames_that_announce_each_change():
    lost = running(session_id="gone", last_heartbeat=beats_ago(10))
    back = make_session(
        session_id="back", status=SessionStatus.RUNNING, last_heartbeat=beats_ago(10)
    )
    ProcessSession.objects.filter(pk=back.pk).update(status=SessionStatus.LOST)
    ProcessSession.objects.filter(pk=back.pk).update(last_heartbeat=timezone.now())

    frames = {frame["session"]: frame for frame in sweep()}

    assert frames["gone"]["session_pk"] == lost.pk
    assert frames["gone"]["states"][0]["state"] == "lost"
    assert frames["gone"]["session_info"]["status"] == "lost"
    assert frames["back"]["states"][0]["state"] == "running"
    assert frames["back"]["session_info"]["status"] == "running"


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_mark_a_session_lost_once():
    """Every server process sweeps: the conditional UPDATE lets only one of them record it."""
    session = running(last_heartbeat=beats_ago(10))
    results: list[list] = []
    start = threading.Barrier(4)

    def sweeper():
        start.wait()
        try:
            results.append(ProcessSession.objects.mark_lost())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(len(r) for r in results) == 1
    assert session.state_changes.filter(state="lost").count() == 1


@pytest.mark.slow
def test_a_real_tap_killed_with_sigkill_is_lost_and_recover_still_ends_it(
    tap_env, settings, tmp_path
):
    settings.STREAMTAP = {**settings.STREAMTAP, "HEARTBEAT_SECONDS": 0.5}
    env = {**tap_env, "STREAMTAP_HEARTBEAT_SECONDS": "0.5"}
    child = "import time; print('ERROR: the build broke', flush=True); time.sleep(60)"
    tap = start_tap(
        env,
        "--pipe",
        "--no-live",
        "--",
        *py(child),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        session = wait_for(lambda: ProcessSession.objects.first(), what="the tap's session row")
        wait_for(lambda: b"the build broke" in tap.stdout.readline(), what="the error printed")
        # Alive: its writer beats, so a sweep long past three intervals leaves it running.
        wait_for(
            lambda: timezone.now() - session.started_at > timedelta(seconds=4 * 0.5),
            what="four intervals",
        )
        assert ProcessSession.objects.mark_lost() == []

        os.killpg(tap.pid, signal.SIGKILL)  # the tap, its writer and the program
        tap.wait(10)

        lost = wait_for(lambda: ProcessSession.objects.mark_lost(), what="the session lost")
        assert [s.pk for s in lost] == [session.pk]
        assert session.ended_at is None

        # `recover` still re-reads its recording (nothing twice) and ends it.
        call_command("recover", "--no-orphans", stdout=io.StringIO())
        session.refresh_from_db()
        assert session.status == SessionStatus.LOST
        assert session.ended_at is not None
        assert list(session.events.values_list("content", flat=True)) == ["ERROR: the build broke"]
    finally:
        if tap.poll() is None:
            os.killpg(tap.pid, signal.SIGKILL)
            tap.wait(10)
