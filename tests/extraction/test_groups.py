"""Error groups, driven through the real `tap` command and the writer's own insert path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from extraction.models import ErrorGroup, ExtractionEvent, GroupStatus
from sessions.models import ProcessSession
from sessions.persistence import EventInserter
from tests.extraction.group_factories import error_rows, insert
from tests.factories import make_event, make_user
from tests.sessions import conftest as tap_conftest
from tests.sessions.conftest import py, run_tap

# The real tap's environment (tests/sessions/conftest.py), shared rather than copied.
tap_env = tap_conftest.tap_env

pytestmark = pytest.mark.django_db(transaction=True)

# A retry loop that fails the same way 44 times: other attempt numbers, other timestamps.
RETRY_LOOP = """
import datetime, sys
for attempt in range(1, 45):
    now = datetime.datetime.now().isoformat()
    print(f"{now} ERROR attempt {attempt}: connection to db-1 refused after {attempt * 37} ms")
sys.exit(1)
"""

TWO_EXCEPTIONS = """
import traceback
def load():
    raise RuntimeError("could not load configuration")
def parse():
    raise ValueError("bad header 42")
for f in (load, parse, load):
    try:
        f()
    except Exception:
        traceback.print_exc()
"""


def high_risk_pending() -> int:
    return ErrorGroup.objects.review_queue().count()


def tap(env, code: str, *args: str) -> None:
    result = run_tap(env, "--agent", "retrier", *args, "--", *py(code))
    assert result.returncode in (0, 1), result.stderr.decode()


def test_a_retry_loop_of_44_identical_errors_is_one_group_and_one_review_item(tap_env):
    tap(tap_env, RETRY_LOOP)
    assert ExtractionEvent.objects.filter(event_type="error").count() == 44
    (group,) = ErrorGroup.objects.all()
    assert group.count == 44
    assert group.session_count == 1
    assert group.representative.seq == min(group.events.values_list("seq", flat=True))
    assert "refused" in group.title
    assert high_risk_pending() == 1


def test_two_different_exceptions_make_two_groups(tap_env):
    tap(tap_env, TWO_EXCEPTIONS)
    groups = {g.title: g.count for g in ErrorGroup.objects.all()}
    assert groups == {
        "RuntimeError: could not load configuration": 2,
        "ValueError: bad header 42": 1,
    }


def test_a_false_positive_group_queues_nothing_when_the_program_runs_again(tap_env):
    tap(tap_env, RETRY_LOOP)
    (group,) = ErrorGroup.objects.all()
    settled = group.review(make_user("rey", staff=True), GroupStatus.FALSE_POSITIVE)
    assert settled == 44
    assert high_risk_pending() == 0

    tap(tap_env, RETRY_LOOP)
    group.refresh_from_db()
    assert (group.count, group.session_count) == (88, 2)
    assert group.review_status == GroupStatus.FALSE_POSITIVE
    assert high_risk_pending() == 0
    # Each event keeps its own outcome, so per-rule precision still counts all 88.
    assert ExtractionEvent.objects.filter(review_status="false_positive").count() == 88
    assert not ExtractionEvent.objects.filter(event_type="error", review_status="pending").exists()


def test_a_resolved_group_that_happens_again_is_reopened(tap_env):
    tap(tap_env, RETRY_LOOP)
    (group,) = ErrorGroup.objects.all()
    group.review(make_user("rey", staff=True), GroupStatus.RESOLVED)
    assert high_risk_pending() == 0
    assert ExtractionEvent.objects.filter(review_status="confirmed").count() == 44

    tap(tap_env, RETRY_LOOP)
    group.refresh_from_db()
    assert group.review_status == GroupStatus.PENDING
    assert group.regressed_at is not None
    assert high_risk_pending() == 1
    assert ExtractionEvent.objects.filter(review_status="pending").count() == 44


# ---- the writer's insert path ----------------------------------------------------------------


def test_writing_the_same_events_again_counts_nothing_twice():
    session = ProcessSession.start("a", command_line="x")
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    insert(session, error_rows(10, start))
    insert(session, error_rows(10, start))
    insert(session, error_rows(15, start))
    (group,) = ErrorGroup.objects.all()
    assert (group.count, group.session_count) == (15, 1)
    assert group.first_seen == start
    assert group.last_seen == start + timedelta(seconds=14)


def test_occurrences_from_another_session_count_that_session_once():
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    for name in ("a", "b"):
        session = ProcessSession.start(name, command_line="x")
        insert(session, error_rows(3, start, agent=name))
        insert(session, error_rows(3, start, first_seq=4, agent=name))
    (group,) = ErrorGroup.objects.all()
    assert (group.count, group.session_count) == (12, 2)
    assert sorted(group.sessions.values_list("agent_name", flat=True)) == ["a", "b"]


def test_an_occurrence_older_than_the_resolution_does_not_reopen_the_group():
    session = ProcessSession.start("a", command_line="x")
    insert(session, error_rows(2, datetime.now(tz=UTC)))
    (group,) = ErrorGroup.objects.all()
    group.review(make_user("rey", staff=True), GroupStatus.RESOLVED)
    # A recording imported late: its errors happened before the problem was resolved.
    insert(session, error_rows(2, datetime.now(tz=UTC) - timedelta(days=1), first_seq=3))
    group.refresh_from_db()
    assert group.review_status == GroupStatus.RESOLVED


def test_prompts_metrics_and_code_blocks_are_not_grouped():
    session = ProcessSession.start("a", command_line="x")
    rows = error_rows(3, datetime.now(tz=UTC))
    for row, kind in zip(rows, ("prompt", "metric", "code_block"), strict=True):
        row["event_type"] = kind
    insert(session, rows)
    assert not ErrorGroup.objects.exists()
    assert not ExtractionEvent.objects.filter(group__isnull=False).exists()


def test_an_imported_recording_joins_the_groups_of_the_tapped_run(tap_env, tmp_path, settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "imported")}
    tap(tap_env, RETRY_LOOP)
    recording = ProcessSession.objects.get().recording_path
    call_command("import_cast", recording, "--agent", "imported", stdout=StringIO())
    (group,) = ErrorGroup.objects.all()
    assert (group.count, group.session_count) == (88, 2)
    assert high_risk_pending() == 1


def test_a_nul_in_the_output_does_not_stop_the_group_from_being_written():
    session = ProcessSession.start("a", command_line="x")
    insert(session, error_rows(2, datetime.now(tz=UTC), message="ERROR bad byte \x00 in {i}"))
    assert ErrorGroup.objects.get().count == 2


def test_events_stored_before_groups_existed_are_grouped_once_by_group_events():
    session = ProcessSession.start("a", command_line="x")
    for seq in range(1, 6):
        make_event(session, seq=seq, content=f"ERROR job {seq} failed", review_status="confirmed")
    make_event(session, seq=6, event_type="prompt", content="Allow? [y/n]")
    out = StringIO()
    call_command("group_events", stdout=out)
    call_command("group_events", stdout=out)
    assert out.getvalue() == "5 event(s) grouped\n0 event(s) grouped\n"
    (group,) = ErrorGroup.objects.all()
    assert (group.count, group.session_count) == (5, 1)
    assert group.representative.seq == 1
    # Their reviews were made one by one and stay as they were.
    assert set(group.events.values_list("review_status", flat=True)) == {"confirmed"}


def test_a_batch_written_again_takes_its_groups_outcome_as_it_is_now():
    session = ProcessSession.start("a", command_line="x")
    start = datetime.now(tz=UTC)
    insert(session, error_rows(1, start))
    (group,) = ErrorGroup.objects.all()
    group.review(make_user("rey", staff=True), GroupStatus.FALSE_POSITIVE)
    rows = error_rows(2, start, first_seq=2)
    with pytest.raises(RuntimeError), transaction.atomic():  # the write fails after grouping
        EventInserter().insert(session.pk, rows)
        raise RuntimeError("database went away")
    ErrorGroup.objects.filter(pk=group.pk).update(review_status=GroupStatus.PENDING)
    insert(session, rows)  # the retry, with the same row dicts
    assert set(group.events.filter(seq__gte=2).values_list("review_status", flat=True)) == {
        "pending"
    }


def test_pruning_events_deletes_them_in_one_statement_and_keeps_a_representative(db):
    session = ProcessSession.start("a", command_line="x")
    insert(session, error_rows(5, datetime.now(tz=UTC)))
    (group,) = ErrorGroup.objects.all()
    first = group.representative_event
    with CaptureQueriesContext(connection) as ctx:
        ExtractionEvent.objects.filter(seq__lte=2).delete()
    statements = [q["sql"].split()[0] for q in ctx.captured_queries]
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["DELETE"]
    group.refresh_from_db()
    assert first.seq == 1
    assert group.representative_event.seq == 5  # the latest occurrence stands in


def test_the_writer_takes_the_fingerprint_a_row_comes_with_and_computes_a_missing_or_bad_one():
    from extraction.engine.fingerprint import ROW_KEY, fingerprint

    session = ProcessSession.start("a", command_line="x")
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    marked, unmarked, damaged = error_rows(3, start)
    marked[ROW_KEY] = "f" * 32  # as the tap's extraction process hands it over
    damaged[ROW_KEY] = "not a fingerprint"
    insert(session, [marked, unmarked, damaged])
    own = fingerprint("error", unmarked["rule"], unmarked["content"], unmarked["metadata"])
    stored = dict(ExtractionEvent.objects.values_list("seq", "group_id"))
    assert stored == {1: "f" * 32, 2: own, 3: own}
