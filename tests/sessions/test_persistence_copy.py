"""EventInserter's two ways in: PostgreSQL's COPY path stores what executemany stores.

On PostgreSQL the tap's batches go through COPY straight into the events table (only the rows
not stored yet; rows another writer stores meanwhile fall back to ON CONFLICT DO NOTHING);
everywhere else (and when forced) through executemany. Whatever the path: idempotent, only the
new rows returned, ids in seq order.
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from extraction.engine import Extractor
from extraction.models import CodeBlock, ErrorGroup, ExtractionEvent
from sessions.models import ProcessSession
from sessions.persistence import EventInserter, clean_json
from sessions.pipeline import Pipeline

OUTPUT = (
    "ERROR: disk full on /dev/sda1 ✓ 日本語\n"
    "```python\nprint('héllo')\n```\n"
    "warning: deprecated call in módulo\n"
    "ERROR: disk full on /dev/sda1 ✓ 日本語\n"
    "loss=0.5 acc=0.9\n"
    "```sh\nmake test\n```\n"
    "Traceback (most recent call last):\n"
    '  File "x.py", line 1, in <module>\n'
    "ValueError: bad 🙂 value\n"
    "ERROR: disk full on /dev/sda1 ✓ 日本語\n"
)

PATHS = ["executemany", "copy"] if connection.vendor == "postgresql" else ["executemany"]
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's (SQLite keeps executemany)"
)


def pipeline_rows(text: str, agent: str = "spec") -> list[dict]:
    rows: list[dict] = []
    pipeline = Pipeline(
        agent_name=agent, started_at=time.time(), extractor=Extractor(), on_events=rows.extend
    )
    pipeline.feed(0.0, text)
    pipeline.close()
    return rows


def awkward_rows(start_seq: int, like: dict) -> list[dict]:
    """Rows as the ingest API hands them over: NUL in text and JSON, lone surrogates cleaned by
    clean_json, nested unicode metadata, keys some rows lack."""
    nul = {
        **like,
        "seq": start_seq,
        "event_type": "warning",
        "rule": "log_warning",
        "content": "a\x00b ✓",
        "context": "ctx\x00",
        "metadata": clean_json({"raw": "nul\x00byte", "lone": "x\ud800y", "k\x00": [1, "é"]}),
    }
    sparse = {k: v for k, v in like.items() if k not in ("context", "metadata")}
    sparse |= {"seq": start_seq + 1, "content": "no context, no metadata"}
    floats = {
        **like,
        "seq": start_seq + 2,
        "timestamp": like["timestamp"] + timedelta(microseconds=1),
        "offset_seconds": 1e-05,
        "metadata": {"big": 2**70, "none": None, "nested": {"a": [{"b": "ß"}]}},
    }
    return [nul, sparse, floats]


def inserter(path: str) -> EventInserter:
    made = EventInserter()
    if path == "executemany":
        made.copy_min_rows = None
    else:
        made.copy_min_rows = 1
    return made


def event_rows(session) -> list[dict]:
    """Every column as read back, ids and the session left out (they differ by construction)."""
    rows = list(ExtractionEvent.objects.filter(session=session).order_by("id").values())
    for row in rows:
        del row["id"], row["session_id"]
        block = row.pop("code_block_id")
        row["code_block"] = CodeBlock.objects.get(pk=block).sha256 if block else None
    return rows


def group_rows() -> list[dict]:
    rows = []
    for group in ErrorGroup.objects.order_by("fingerprint"):
        rows.append(
            {
                "fingerprint": group.fingerprint,
                "count": group.count,
                "session_count": group.session_count,
                "first_seen": group.first_seen,
                "last_seen": group.last_seen,
                "title": group.title,
                "risk_level": group.risk_level,
                "review_status": group.review_status,
                "representative_seq": group.representative.seq if group.representative else None,
            }
        )
    return rows


def write_through(path: str, session, batches: list[list[dict]]) -> tuple:
    """The batches through one inserter taking ``path``, each in its transaction (the
    writer's); between the first and the second a person reviews the first group."""
    made = inserter(path)
    returned = []
    for i, batch in enumerate(copy.deepcopy(batches)):
        with transaction.atomic():
            returned.append([r["seq"] for r in made.insert(session.pk, batch)])
        if i == 0:
            first = ExtractionEvent.objects.get(session=session, seq=1)
            ErrorGroup.objects.filter(fingerprint=first.group_id).update(review_status="confirmed")
    blocks = sorted(CodeBlock.objects.values_list("sha256", "language", "content", "occurrences"))
    return returned, event_rows(session), group_rows(), blocks


def forget_everything(session) -> None:
    ExtractionEvent.objects.filter(session=session).delete()
    ErrorGroup.objects.all().delete()
    CodeBlock.objects.all().delete()


@postgres_only
def test_copy_stores_every_column_exactly_as_executemany_does(db):
    session = ProcessSession.start("spec", command_line="spec")
    rows = pipeline_rows(OUTPUT)
    rows += awkward_rows(len(rows) + 1, rows[0])
    # Three batches: the second repeats the first's problem after its review, the third is the
    # first again (nothing new).
    batches = [rows[:4], rows[4:], rows[:4]]
    by_executemany = write_through("executemany", session, batches)
    forget_everything(session)
    by_copy = write_through("copy", session, batches)

    returned, events, groups, blocks = by_copy
    assert returned == by_executemany[0]
    assert returned[2] == []
    assert events == by_executemany[1]
    assert groups == by_executemany[2]
    assert blocks == by_executemany[3]
    # What the comparison covers (so an empty pipeline cannot pass it).
    assert [e["seq"] for e in events] == list(range(1, len(rows) + 1))
    assert {e["event_type"] for e in events} >= {"error", "warning", "code_block", "metric"}
    assert sum(e["code_block"] is not None for e in events) == 2
    assert any(e["review_status"] == "confirmed" for e in events)
    assert any(g["count"] >= 2 for g in groups)
    nul = next(e for e in events if e["content"].startswith("a"))
    assert nul["content"] == "a\ufffdb ✓" and nul["context"] == "ctx\ufffd"
    assert nul["metadata"] == {"raw": "nul\ufffdbyte", "lone": "x?y", "k\ufffd": [1, "é"]}
    assert next(e for e in events if e["offset_seconds"] == 1e-05)["metadata"]["big"] == 2**70


@pytest.mark.parametrize("path", PATHS)
def test_a_batch_written_twice_is_stored_once_and_returned_once(db, path):
    session = ProcessSession.start("spec", command_line="spec")
    rows = pipeline_rows(OUTPUT)
    made = inserter(path)
    with transaction.atomic():
        assert [r["seq"] for r in made.insert(session.pk, copy.deepcopy(rows))] == [
            r["seq"] for r in rows
        ]
    with transaction.atomic():
        assert made.insert(session.pk, copy.deepcopy(rows)) == []
    assert ExtractionEvent.objects.filter(session=session).count() == len(rows)
    assert sorted(CodeBlock.objects.values_list("occurrences", flat=True)) == [1, 1]
    assert sum(ErrorGroup.objects.values_list("count", flat=True)) == sum(
        r["event_type"] in ("error", "warning") for r in rows
    )


@pytest.mark.parametrize("path", PATHS)
def test_a_partly_stored_batch_returns_only_its_new_rows_and_ids_follow_seq(db, path):
    session = ProcessSession.start("spec", command_line="spec")
    rows = pipeline_rows(OUTPUT)
    made = inserter(path)
    # Every other row first (a retry after a batch half-written by another writer).
    made.insert(session.pk, copy.deepcopy(rows[1::2]))
    new = made.insert(session.pk, copy.deepcopy(rows))
    assert [r["seq"] for r in new] == [r["seq"] for r in rows[0::2]]
    stored = list(ExtractionEvent.objects.filter(session=session).order_by("id"))
    assert sorted(e.seq for e in stored) == [r["seq"] for r in rows]
    # Within each batch, ids follow seq.
    second = [e.seq for e in stored if e.seq % 2 == 1]
    assert second == sorted(second)
    assert [e.seq for e in stored[: len(rows[1::2])]] == [r["seq"] for r in rows[1::2]]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_copy_works_again_on_a_new_connection_after_the_old_one_closed():
    # The writer keeps one connection and opens a new one after a failure (COPY's plan,
    # cached per inserter, must not depend on the connection).
    session = ProcessSession.start("spec", command_line="spec")
    rows = pipeline_rows(OUTPUT)
    made = inserter("copy")
    with transaction.atomic():
        made.insert(session.pk, copy.deepcopy(rows[:3]))
    connection.close()
    # The new connection's first transaction fails: its CREATE of the table rolls back too.
    with pytest.raises(RuntimeError), transaction.atomic():
        made.insert(session.pk, copy.deepcopy(rows))
        raise RuntimeError("the batch's transaction rolls back")
    with transaction.atomic():
        assert len(made.insert(session.pk, copy.deepcopy(rows))) == len(rows) - 3
    with transaction.atomic():
        assert len(made.insert(session.pk, [{**copy.deepcopy(rows[0]), "seq": 1000}])) == 1
    assert [e.seq for e in ExtractionEvent.objects.filter(session=session).order_by("id")] == [
        *range(1, len(rows) + 1),
        1000,
    ]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_rows_another_writer_stores_during_the_copy_are_skipped_not_an_error():
    # Another writer (an ingest request retried while the first still writes) inserts some of
    # the batch's rows after this writer's SELECT found them missing: the COPY waits for it,
    # fails on the unique (session, seq), and the batch goes in with ON CONFLICT DO NOTHING.
    session = ProcessSession.start("spec", command_line="spec")
    rows = pipeline_rows(OUTPUT)
    other_inserted, release, errors = threading.Event(), threading.Event(), []

    def other_writer():
        try:
            with transaction.atomic():
                inserter("executemany").insert(session.pk, copy.deepcopy(rows[:3]))
                other_inserted.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def this_writer():
        try:
            with transaction.atomic():
                returned.extend(inserter("copy").insert(session.pk, copy.deepcopy(rows)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    returned: list[dict] = []
    other = threading.Thread(target=other_writer)
    other.start()
    assert other_inserted.wait(10)
    this = threading.Thread(target=this_writer)
    this.start()
    this.join(1.0)
    assert this.is_alive(), "the COPY should wait for the other writer's uncommitted rows"
    release.set()
    other.join(10)
    this.join(10)
    assert errors == []
    assert [r["seq"] for r in returned] == [r["seq"] for r in rows]
    stored = list(ExtractionEvent.objects.filter(session=session).order_by("id"))
    assert [e.seq for e in stored] == [r["seq"] for r in rows]
