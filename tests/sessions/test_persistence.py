"""EventInserter: the writer's executemany of event rows, idempotent and in seq order."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from extraction.engine import Extractor
from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession, ProcessStateChange
from sessions.persistence import EventInserter
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
