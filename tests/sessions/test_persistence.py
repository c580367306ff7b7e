"""EventInserter: the writer's executemany of event rows, idempotent and in seq order."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from extraction.engine import Extractor
from extraction.models import CodeBlock, ErrorGroup, ExtractionEvent, PromptDecision
from sessions.models import ProcessSession, ProcessStateChange
from sessions.persistence import (
    WRITER_CACHE_KIB,
    WRITER_WAL_AUTOCHECKPOINT_PAGES,
    EventInserter,
    tune_writer_connection,
)
from sessions.pipeline import Pipeline

OUTPUT = (
    "ERROR: first\n"
    "```python\nprint(1)\n```\n"
    "loss=0.5 acc=0.9\n"
    "warning: middle\n"
    "```sh\nmake test\n```\n"
    "ERROR: last\n"
)


def pipeline_rows(text: str) -> list[dict]:
    rows: list[dict] = []
    pipeline = Pipeline(
        agent_name="spec", started_at=time.time(), extractor=Extractor(), on_events=rows.extend
    )
    pipeline.feed(0.0, text)
    pipeline.close()
    return rows


@pytest.fixture
def session(db):
    return ProcessSession.start("spec", command_line="spec")


def stored(session) -> list[ExtractionEvent]:
    return list(ExtractionEvent.objects.filter(session=session).order_by("id"))


def test_a_batch_mixing_code_blocks_and_other_events_keeps_seq_order(session):
    rows = pipeline_rows(OUTPUT)
    assert [r["event_type"] for r in rows] == [
        "error", "code_block", "metric", "warning", "code_block", "error"
    ]  # fmt: skip
    EventInserter().insert(session.pk, rows)
    events = stored(session)
    # Ids follow seq: lists ordered by (timestamp, id) show a chunk's events as printed.
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.event_type for e in events] == [r["event_type"] for r in rows]
    blocks = [e for e in events if e.event_type == "code_block"]
    assert [b.code_block.content for b in blocks] == ["print(1)", "make test"]
    assert all(e.code_block_id is None for e in events if e.event_type != "code_block")
    # One metric event per line, holding each of its metrics (issue 16).
    assert events[2].metadata["metrics"] == [
        {"name": "loss", "value": 0.5, "unit": ""},
        {"name": "acc", "value": 0.9, "unit": ""},
    ]
    assert CodeBlock.objects.count() == 2


def test_a_block_repeated_in_one_batch_counts_every_occurrence(session):
    """As if each occurrence were stored alone: the first one's text and time, the last one's
    time, one occurrence each (the batch's upsert is one row per block)."""
    block, other = "```sh\nmake test\n```\n", "```python\nprint(1)\n```\n"
    rows = pipeline_rows(block + other + block + "ERROR: x\n" + block)
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    for i, row in enumerate(rows):
        row["timestamp"] = start + timedelta(seconds=i)
    inserter = EventInserter()
    inserter.insert(session.pk, rows)
    make_test = CodeBlock.objects.get(content="make test")
    assert make_test.occurrences == 3
    assert make_test.first_seen == start
    assert make_test.last_seen == start + timedelta(seconds=4)
    assert CodeBlock.objects.get(content="print(1)").occurrences == 1
    blocks = [e for e in stored(session) if e.event_type == "code_block"]
    assert [b.code_block_id for b in blocks] == [
        make_test.id,
        blocks[1].code_block_id,
        make_test.id,
        make_test.id,
    ]
    # A later batch adds to the counts.
    again = pipeline_rows(block)
    again[0]["seq"] = 99
    again[0]["timestamp"] = start + timedelta(minutes=1)
    inserter.insert(session.pk, again)
    make_test.refresh_from_db()
    assert make_test.occurrences == 4
    assert make_test.last_seen == start + timedelta(minutes=1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's executemany")
def test_on_postgresql_a_batchs_block_and_group_upserts_are_one_statement_each(session):
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
    text = "".join(f"```sh\necho {w}\n```\nERROR: {w} could not start\n" for w in words)
    rows = pipeline_rows(text)
    with CaptureQueriesContext(connection) as queries:
        EventInserter().insert(session.pk, rows)
    upserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT INTO")]
    assert sum(q.startswith("INSERT INTO code_blocks") for q in upserts) == 1
    assert sum(q.startswith("INSERT INTO error_groups ") for q in upserts) == 1
    assert CodeBlock.objects.count() == ErrorGroup.objects.count() == 10


def test_rows_with_missing_optional_keys_get_the_defaults(session):
    full, *rest = pipeline_rows("ERROR: a\nERROR: b\nERROR: c\n")
    sparse = [{k: v for k, v in row.items() if k not in ("context", "metadata")} for row in rest]
    EventInserter().insert(session.pk, [full, *sparse])
    events = stored(session)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].context == full["context"] and events[0].metadata == full["metadata"]
    assert [(e.context, e.metadata, e.review_status) for e in events[1:]] == [
        ("", {}, "pending"),
        ("", {}, "pending"),
    ]


def stored_columns(session) -> list[tuple]:
    """Every column but the ids as the database holds it (on SQLite with each value's storage
    class too: 1 and True, NULL and '' are told apart), in seq order. JSON is compared as
    JSON: the writer writes it compact, Django with spaces."""
    names = [
        f.column
        for f in ExtractionEvent._meta.concrete_fields
        if f.column not in ("id", "session_id", "code_block_id")
    ]
    if connection.vendor == "sqlite":
        columns = ", ".join(
            f"{'json(metadata)' if n == 'metadata' else n}, typeof({n})" for n in names
        )
    else:
        columns = ", ".join(names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns}, code_block_id IS NULL FROM extraction_events "
            "WHERE session_id = %s ORDER BY seq",
            [session.pk],
        )
        return cursor.fetchall()


def test_the_inserter_stores_every_value_as_the_orm_does(session):
    """The writer's own INSERT (columns no row has left to their defaults, values bound as
    the driver takes them fastest) stores what Django's save() of the same events stores."""
    rows = pipeline_rows(OUTPUT)
    sparse = {k: v for k, v in rows[0].items() if k not in ("context", "metadata")}
    rows.append({**sparse, "seq": len(rows) + 1, "auto_confirmable": True})
    EventInserter().insert(session.pk, rows)
    by_orm = ProcessSession.start("spec", command_line="spec")
    for event in stored(session):
        event.pk, event.session = None, by_orm
        event.save(force_insert=True)
    inserted = stored_columns(session)
    assert inserted == stored_columns(by_orm)
    # What the comparison covers: defaults, NULLs, booleans both ways, a code block's link.
    events = stored(session)
    assert {e.auto_confirmable for e in events} == {True, False}
    assert events[-1].context == "" and events[-1].metadata == {}
    assert {e.group_id is None for e in events} == {True, False}
    assert {row[-1] for row in inserted} == {0, 1} or {row[-1] for row in inserted} == {
        False,
        True,
    }


def test_inserting_the_same_rows_again_stores_nothing_twice(session):
    rows = pipeline_rows(OUTPUT)
    inserter = EventInserter()
    assert len(inserter.insert(session.pk, rows)) == 6
    assert inserter.insert(session.pk, rows) == []
    assert ExtractionEvent.objects.filter(session=session).count() == 6
    assert sorted(CodeBlock.objects.values_list("occurrences", flat=True)) == [1, 1]


def test_state_changes_store_their_metadata_and_times_and_set_the_status(session):
    at = datetime(2026, 11, 26, 23, 59, 58, 123456, tzinfo=UTC)
    session.change_states(
        [
            ("waiting_for_input", {"prompt": "Proceed? [y/N] ✓", "seq": 3}, at),
            ("answered", {"by": "policy", "raw": "nul\x00byte"}, at + timedelta(seconds=1)),
            ("running", {}, at + timedelta(seconds=1, microseconds=1)),
        ]
    )
    changes = list(ProcessStateChange.objects.filter(session=session).order_by("id"))
    assert [(c.state, c.timestamp) for c in changes][-3:] == [
        ("waiting_for_input", at),
        ("answered", at + timedelta(seconds=1)),
        ("running", at + timedelta(seconds=1, microseconds=1)),
    ]
    assert changes[-3].metadata == {"prompt": "Proceed? [y/N] ✓", "seq": 3}
    # PostgreSQL cannot store NUL in JSON text: it becomes U+FFFD there, and stays on SQLite.
    assert changes[-2].metadata["raw"] in ("nul\x00byte", "nul\ufffdbyte")
    session.refresh_from_db()
    assert session.status == "running"


def test_the_outcomes_a_session_marks_on_its_own_are_prompt_decisions():
    assert set(ProcessSession.PROMPT_OUTCOMES_LEFT_BY_PROGRAM) == {
        PromptDecision.SUPERSEDED,
        PromptDecision.UNANSWERED,
    }


def test_a_prompt_the_program_left_is_marked_with_its_state_unless_answered(session):
    rows = pipeline_rows(
        "Delete the cache? [y/N] \nDelete the logs? [y/N] \nGo on? [y/N] \nAnd now? [y/N] \n"
    )
    assert [r["event_type"] for r in rows] == ["prompt"] * 4
    EventInserter().insert(session.pk, rows)
    first, second, third, last = (r["seq"] for r in rows)
    ExtractionEvent.objects.filter(session=session, seq=second).update(
        prompt_decision="approve", prompt_decision_by="dashboard:rita"
    )
    at = datetime(2026, 12, 4, 10, 0, 0, 250000, tzinfo=UTC)

    def answered(seq, outcome, by="program"):
        return ("prompt_answered", {"seq": seq, "outcome": outcome, "by": by}, at)

    session.change_states(
        [
            answered(first, "superseded"),
            answered(second, "superseded"),  # answered first: the dashboard's decision stands
            answered(third, "deny", by="terminal"),  # the controller claims those itself
            answered(last, "unanswered"),  # the program ended
        ]
    )
    decisions = {
        e.seq: (e.prompt_decision, e.prompt_decision_by, e.prompt_decided_at)
        for e in stored(session)
    }
    assert decisions == {
        first: ("superseded", "program", at),
        second: ("approve", "dashboard:rita", None),
        third: (None, None, None),
        last: ("unanswered", "program", at),
    }


def test_the_writers_connection_checkpoints_its_wal_less_often(db):
    """The writer's own SQLite connection: a larger page cache, and checkpoints every
    WRITER_WAL_AUTOCHECKPOINT_PAGES pages instead of SQLite's 1,000 (one per batch or so)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's pragmas")
    connection.ensure_connection()
    raw = connection.connection
    tune_writer_connection(raw, connection.vendor)
    assert raw.execute("PRAGMA cache_size").fetchone() == (-WRITER_CACHE_KIB,)
    assert raw.execute("PRAGMA wal_autocheckpoint").fetchone() == (WRITER_WAL_AUTOCHECKPOINT_PAGES,)
