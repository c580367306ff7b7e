"""`?q=` on PostgreSQL: the trigram index lives off the insert path and queries stay exact.

Inserting events only records their id range in a backlog; a catch-up moves ranges into the
side table that carries the trigram index; a query's candidates are the side table's matches
plus the ranges still in the backlog (extraction/search_postgres.py). These specifications run
on PostgreSQL only (SQLite's FTS5 index is covered by tests/api/test_event_search.py, whose
exactness tests run on both).
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from extraction import search, search_postgres
from extraction.engine import Extractor
from extraction.models import ExtractionEvent
from sessions.persistence import EventInserter
from sessions.pipeline import Pipeline
from tests.factories import make_event, make_session

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the side table and backlog are PostgreSQL's"
)


def backlog() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT first_id, last_id FROM {search_postgres.BACKLOG} ORDER BY first_id, id"
        )
        return cursor.fetchall()


def side() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, text FROM {search_postgres.SIDE}")
        return dict(cursor.fetchall())


def found(q: str) -> list[int]:
    """The search's answer, newest first, as the API and dashboard ask for it."""
    events = ExtractionEvent.objects.all().search(q).order_by("-timestamp", "-id")
    return list(events.values_list("id", flat=True))


def expected(q: str) -> list[int]:
    events = ExtractionEvent.objects.filter(search.text_filter(q)).order_by("-timestamp", "-id")
    return list(events.values_list("id", flat=True))


def tap_rows(lines: list[str]) -> list[dict]:
    """Event rows as the tap's pipeline hands them to its writer, one per line."""
    rows: list[dict] = []
    pipeline = Pipeline(
        agent_name="spec", started_at=time.time(), extractor=Extractor(), on_events=rows.extend
    )
    pipeline.feed(0.0, "".join(f"{line}\n" for line in lines))
    pipeline.close()
    assert len(rows) == len(lines)
    return rows


def another_connection() -> psycopg.Connection:
    """A second client of the test database (another tap's writer, another search)."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=False,
    )


@pytest.fixture
def session(db):
    return make_session("codex")


@postgres_only
def test_the_insert_path_has_no_trigram_index(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
            [search_postgres.TABLE],
        )
        definitions = dict(cursor.fetchall())
    assert not [name for name, sql in definitions.items() if "gin" in sql.lower()]
    assert "ee_content_trgm" not in definitions and "ee_rule_trgm" not in definitions


@postgres_only
def test_an_insert_records_one_backlog_range_whatever_its_size(session):
    search.catch_up_all()
    with transaction.atomic():
        new_rows = EventInserter().insert(
            session.pk, tap_rows([f"ERROR: disk {i} full" for i in range(50)])
        )
    assert len(new_rows) == 50
    ids = list(session.events.order_by("id").values_list("id", flat=True))
    assert backlog() == [(ids[0], ids[-1])]
    assert not set(ids) & set(side())


@postgres_only
def test_single_row_inserts_are_caught_up_as_one_run(session):
    search.catch_up_all()
    inserter = EventInserter()
    inserter.copy_min_rows = None  # executemany: one INSERT statement, one range, per row
    with transaction.atomic():
        inserter.insert(session.pk, tap_rows([f"ERROR: row {i}" for i in range(5)]))
    ids = list(session.events.order_by("id").values_list("id", flat=True))
    assert backlog() == [(i, i) for i in ids]
    with CaptureQueriesContext(connection) as queries:
        assert search_postgres.catch_up() == 0
    assert sum(search_postgres.SIDE in q["sql"] and "INSERT" in q["sql"] for q in queries) == 1
    assert set(ids) <= set(side())


@pytest.mark.parametrize(
    ("ranges", "merged"),
    [
        ([], []),
        ([(5, 5), (6, 6), (7, 9)], [(5, 9)]),
        ([(10, 20), (1, 3), (12, 14), (21, 21), (30, 30)], [(1, 3), (10, 21), (30, 30)]),
    ],
)
def test_merged_ranges_join_overlapping_and_adjacent_ones(ranges, merged):
    assert search_postgres.merged_ranges(ranges) == merged


@postgres_only
def test_a_catch_up_moves_the_backlog_into_the_side_table(session):
    event = make_event(session, content="Kubectl Delete namespace prod", rule="shell_danger")
    assert search_postgres.catch_up() == 0
    assert backlog() == []
    assert side()[event.id] == "KUBECTL DELETE NAMESPACE PROD\nSHELL_DANGER"


@postgres_only
def test_rows_still_in_the_backlog_are_found(session, monkeypatch):
    monkeypatch.setattr(search_postgres, "CATCH_UP_ROWS", 0)
    fresh = make_event(session, content="$ helm uninstall prod")
    assert found("HELM uninstall") == [fresh.id]
    assert backlog() and fresh.id not in side()


@postgres_only
def test_a_catch_up_cut_short_keeps_the_rest_of_its_range(session):
    search.catch_up_all()
    with transaction.atomic():
        EventInserter().insert(session.pk, tap_rows([f"ERROR: needle {i}" for i in range(10)]))
    ids = list(session.events.order_by("id").values_list("id", flat=True))
    assert search_postgres.catch_up(max_rows=4) == 6
    assert backlog() == [(ids[4], ids[-1])]
    assert set(ids[:4]) <= set(side())
    assert found("needle") == expected("needle") and len(found("needle")) == 10
    search.catch_up_all()
    assert backlog() == [] and set(ids) <= set(side())


@postgres_only
def test_an_edit_is_searched_by_its_new_text(session):
    event = make_event(session, content="git push --force origin main")
    search.catch_up_all()
    ExtractionEvent.objects.filter(pk=event.pk).update(content="[redacted]")
    assert backlog() == [(event.id, event.id)]
    assert found("REDACTED") == [event.id] and found("push --force") == []
    search.catch_up_all()
    assert side()[event.id].startswith("[REDACTED]")


@postgres_only
def test_an_edit_of_other_columns_costs_the_index_nothing(session):
    event = make_event(session, content="rm -rf build")
    search.catch_up_all()
    ExtractionEvent.objects.filter(pk=event.pk).update(review_status="confirmed")
    assert backlog() == []


@postgres_only
def test_deleted_events_leave_the_side_table(session):
    doomed = make_event(session, content="terraform destroy")
    search.catch_up_all()
    session.delete()
    assert doomed.id not in side()
    assert found("terraform") == []


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_truncating_the_events_empties_the_index():
    event = make_event(make_session("codex"), content="docker system prune")
    search.catch_up_all()
    assert event.id in side()
    make_event(make_session("codex"), content="left in the backlog")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {search_postgres.TABLE} CASCADE")
    assert side() == {} and backlog() == []


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_committed_after_a_higher_id_is_still_found():
    """Two taps' writers: the first takes the lower ids but commits last; a catch-up between
    the two commits must not leave its rows unfindable (SQLite's high-water mark would)."""
    session = make_session("codex")
    slow = another_connection()
    try:
        slow.execute(
            f"INSERT INTO {search_postgres.TABLE} (session_id, seq, event_type, severity, "
            "risk_level, rule, content, context, line_start, line_end, timestamp, agent_name, "
            "metadata, auto_confirmable, review_status, review_note, offset_seconds) VALUES (%s, 1, 'error', "
            "'error', 'medium', 'log_error', 'slow writer deadlock', '', 1, 1, now(), 'codex', "
            "'{}', false, 'pending', '', 0)",
            [session.pk],
        )
        fast = make_event(session, content="fast writer deadlock", seq=2)
        search.catch_up_all()  # indexes the higher id; the lower one is not visible yet
        slow.commit()
    finally:
        slow.close()
    slow_id = ExtractionEvent.objects.get(session=session, seq=1).id
    assert slow_id < fast.id
    assert found("deadlock") == expected("deadlock")
    assert set(found("deadlock")) == {slow_id, fast.id}
    search.catch_up_all()
    assert {slow_id, fast.id} <= set(side())


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_search_while_another_catch_up_holds_the_backlog_is_complete():
    event = make_event(make_session("codex"), content="kubectl drain node-7")
    other = another_connection()
    try:
        other.execute(f"SELECT * FROM {search_postgres.BACKLOG} FOR UPDATE")
        started = time.monotonic()
        assert found("DRAIN node") == [event.id]
        assert time.monotonic() - started < 5  # skipped the locked rows, did not wait for them
        assert backlog()  # still there: the other catch-up holds it
    finally:
        other.rollback()
        other.close()


@postgres_only
def test_a_catch_up_inside_a_transaction_gives_its_lock_timeout_back(session):
    make_event(session, content="anything")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '7s'")
        search_postgres.catch_up()
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "7s"


def page_query(queries) -> str:
    return next(q["sql"] for q in queries if q["sql"].startswith('SELECT "extraction_events"'))


@postgres_only
def test_a_rare_term_is_looked_up_by_the_ids_the_trigram_index_matches(session):
    for i in range(200):
        make_event(session, content=f"ordinary line {i}")
    rare = make_event(session, content="segfault in libfoo")
    search.catch_up_all()
    with CaptureQueriesContext(connection) as queries:
        assert found("SEGFAULT") == [rare.id]
    probe = [q["sql"] for q in queries if q["sql"].startswith("SELECT id FROM")]
    assert probe and search_postgres.SIDE in probe[0]
    assert f'"extraction_events"."id" IN ({rare.id})' in page_query(queries)


@postgres_only
def test_a_frequent_term_walks_the_time_index_with_the_same_answer(session, monkeypatch):
    for i in range(20):
        make_event(session, content=f"ERROR: disk {i} full")
    search.catch_up_all()
    monkeypatch.setattr(search, "frequent_after", lambda limit, events: 5)
    with CaptureQueriesContext(connection) as queries:
        assert found("disk") == expected("disk") and len(found("disk")) == 20
    assert '"extraction_events"."id" IN' not in page_query(queries)


@postgres_only
def test_a_term_the_planner_expects_everywhere_skips_the_probe(session, monkeypatch):
    for i in range(20):
        make_event(session, content=f"ERROR: disk {i} full")
    search.catch_up_all()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {search_postgres.SIDE}")
    monkeypatch.setattr(search, "frequent_after", lambda limit, events: 1)
    with CaptureQueriesContext(connection) as queries:
        assert found("ERROR") == expected("ERROR")
    assert not [q for q in queries if q["sql"].startswith("SELECT id FROM")]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_servers_liveness_sweep_keeps_the_index_caught_up():
    from sessions import liveness

    event = make_event(make_session("codex"), content="npm ERR! peer dependency conflict")
    assert backlog()

    async def sweep_until_caught_up() -> bool:
        task = asyncio.create_task(liveness.sweep_forever())
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if not await sync_to_async(backlog, thread_sensitive=False)():
                    return True
                await asyncio.sleep(0.05)
            return False
        finally:
            task.cancel()

    assert asyncio.run(sweep_until_caught_up())
    assert event.id in side()
