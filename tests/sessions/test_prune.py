"""`manage.py prune`: old finished sessions go, in small transactions; live ones and used code
blocks stay."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from extraction.models import CodeBlock, ExtractionEvent
from sessions import retention
from sessions.models import ProcessSession, ProcessStateChange, SessionStatus
from tests.factories import make_code_block, make_event, make_session

from .conftest import ROOT, py, run_tap, tap_argv
from .live_bus import WARNING, add_events

DAY = timedelta(days=1)


def days_ago(n: float):
    return timezone.now() - n * DAY


def with_recording(session: ProcessSession, directory: Path) -> tuple[Path, Path]:
    cast = directory / f"{session.session_id}.cast"
    cast.write_text('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "hi\\r\\n"]\n')
    index = cast.with_name(cast.name + ".idx")
    index.write_text("{}")
    ProcessSession.objects.filter(pk=session.pk).update(recording_path=str(cast))
    session.recording_path = str(cast)
    return cast, index


def bulk_events(session: ProcessSession, count: int, **fields) -> None:
    add_events(
        session,
        range(1, count + 1),
        "warning",
        **WARNING,
        rule="generic_warning",
        timestamp=session.started_at,
        **fields,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        (" 1.5D ", timedelta(hours=36)),
    ],
)
def test_ages_are_a_number_and_a_unit(text, expected):
    assert retention.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "30 days", "-1d", "0d", "1y"])
def test_other_ages_are_refused(text):
    with pytest.raises(ValueError):
        retention.parse_age(text)


@pytest.mark.django_db
def test_old_finished_sessions_go_with_events_state_changes_and_recordings(tmp_path):
    old = make_session(started_at=days_ago(40))
    make_event(old)
    make_event(old)
    old_cast, old_index = with_recording(old, tmp_path)
    recent = make_session(started_at=days_ago(3))
    make_event(recent)
    recent_cast, recent_index = with_recording(recent, tmp_path)

    out = StringIO()
    call_command("prune", "--older-than", "30d", stdout=out)

    assert list(ProcessSession.objects.all()) == [recent]
    assert ExtractionEvent.objects.filter(session_id=old.pk).count() == 0
    assert ProcessStateChange.objects.filter(session_id=old.pk).count() == 0
    assert not old_cast.exists() and not old_index.exists()
    assert recent.events.count() == 1 and recent.state_changes.count() == 2
    assert recent_cast.exists() and recent_index.exists()
    assert "Deleted 1 sessions, 2 events, 2 state changes, 1 recording files" in out.getvalue()


@pytest.mark.django_db
def test_live_sessions_are_never_deleted_however_old(tmp_path):
    for status in (SessionStatus.RUNNING, SessionStatus.WAITING_FOR_INPUT):
        live = make_session(status=status, started_at=days_ago(400))
        make_event(live)
        with_recording(live, tmp_path)

    call_command("prune", "--older-than", "1d", stdout=StringIO())

    assert ProcessSession.objects.count() == 2
    assert ExtractionEvent.objects.count() == 2
    assert len(list(tmp_path.glob("*.cast"))) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.KILLED, "lost"]
)
def test_every_finished_status_is_pruned(status):
    make_session(status=status, started_at=days_ago(10))
    call_command("prune", "--older-than", "1d", stdout=StringIO())
    assert not ProcessSession.objects.exists()


@pytest.mark.django_db
def test_age_counts_from_the_end_of_a_session():
    # Started 40 days ago and ran for 20 days: it ended 20 days ago, younger than 30 days.
    long_run = make_session(started_at=days_ago(40), duration=timedelta(days=20))
    call_command("prune", "--older-than", "30d", stdout=StringIO())
    assert ProcessSession.objects.get() == long_run
    call_command("prune", "--older-than", "12h", stdout=StringIO())
    assert not ProcessSession.objects.exists()


@pytest.mark.django_db
def test_code_blocks_still_referenced_are_kept():
    shared = make_code_block("make test", language="sh", last_seen=days_ago(60))
    only_old = make_code_block("rm -rf build", language="sh", last_seen=days_ago(60))
    unused_old = make_code_block("echo orphan", language="sh", last_seen=days_ago(60))
    unused_recent = make_code_block("echo fresh", language="sh", last_seen=days_ago(1))
    old = make_session(started_at=days_ago(60))
    make_event(old, event_type="code_block", code_block=shared)
    make_event(old, event_type="code_block", code_block=only_old)
    recent = make_session(started_at=days_ago(2))
    make_event(recent, event_type="code_block", code_block=shared)

    call_command("prune", "--older-than", "30d", stdout=StringIO())

    assert set(CodeBlock.objects.all()) == {shared, unused_recent}
    assert recent.events.get().code_block == shared
    assert {only_old.pk, unused_old.pk}.isdisjoint(CodeBlock.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_dry_run_counts_and_deletes_nothing(tmp_path):
    old = make_session(started_at=days_ago(90))
    bulk_events(old, 7)
    cast, index = with_recording(old, tmp_path)
    block = make_code_block(last_seen=days_ago(90))
    make_session(started_at=days_ago(1))

    out = StringIO()
    call_command("prune", "--older-than", "30d", "--dry-run", stdout=out)

    assert out.getvalue().startswith(
        "Would delete 1 sessions, 7 events, 2 state changes, 1 recording files, 1 code blocks"
    )
    assert ProcessSession.objects.count() == 2
    assert ExtractionEvent.objects.count() == 7
    assert cast.exists() and index.exists()
    assert CodeBlock.objects.get() == block


@pytest.mark.django_db
def test_default_age_comes_from_the_retention_setting(settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "RETENTION_DAYS": 7}
    make_session(started_at=days_ago(8))
    kept = make_session(started_at=days_ago(6))
    call_command("prune", stdout=StringIO())
    assert ProcessSession.objects.get() == kept


@pytest.mark.django_db
def test_without_an_age_or_a_setting_it_refuses(settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "RETENTION_DAYS": 0}
    make_session(started_at=days_ago(800))
    with pytest.raises(CommandError, match="--older-than"):
        call_command("prune", stdout=StringIO())
    with pytest.raises(CommandError, match="30 days"):
        call_command("prune", "--older-than", "30 days", stdout=StringIO())
    assert ProcessSession.objects.count() == 1


@pytest.mark.django_db
def test_events_are_deleted_a_batch_per_transaction():
    old = make_session(started_at=days_ago(40))
    bulk_events(old, 1_200)

    with CaptureQueriesContext(connection) as ctx:
        result = retention.prune(timedelta(days=30), batch_size=500)

    assert result.events == 1_200
    deletes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith('DELETE FROM "extraction_events"')
    ]
    # 500 + 500 + 200 rows, each in its own transaction (the lock is released in between);
    # then the session row's cascade finds nothing left.
    sizes = [len(re.search(r'"id" IN \(([^)]*)\)', sql).group(1).split(",")) for sql in deletes[:3]]
    assert sizes == [500, 500, 200]
    assert len(deletes) == 4 and '"session_id" IN' in deletes[3]
    assert not ExtractionEvent.objects.exists()


def test_a_pruned_tap_session_stays_gone_after_recover(tap_env):
    """End to end with real processes: tap, age the session, prune, recover adopts nothing."""
    result = run_tap(tap_env, "--", *py("print('ERROR: old failure'); print('```sh\\nls\\n```')"))
    assert result.returncode == 0
    session = ProcessSession.objects.get()
    cast = Path(session.recording_path)
    assert cast.exists() and session.events.count() == 2
    ProcessSession.objects.update(
        started_at=days_ago(31), ended_at=days_ago(31) + timedelta(seconds=1)
    )
    CodeBlock.objects.update(last_seen=days_ago(31))

    manage = tap_argv()[:2]
    pruned = subprocess.run(
        [*manage, "prune", "--older-than", "30d"],
        env=tap_env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert pruned.returncode == 0, pruned.stderr
    assert b"Deleted 1 sessions, 2 events" in pruned.stdout
    assert not cast.exists()
    recover = subprocess.run(
        [*manage, "recover"], env=tap_env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert recover.returncode == 0, recover.stderr
    assert not ProcessSession.objects.exists()
    assert not ExtractionEvent.objects.exists()
    assert not CodeBlock.objects.exists()
