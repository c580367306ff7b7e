"""The tap's writer: one BatchWriter (buffer, batches, retries, spill) over a store.

Each store is run for real: DatabaseStore against the test database (a SQLite file, or
PostgreSQL with DATABASE_URL), HttpStore against a real HTTP server (pytest-django's
live_server) serving the ingest API. The writer's own behaviour (retry, spill, dropped events)
is shown with the database store, and with a store that is down: a wrapper that refuses a
given number of calls the way an unreachable database does.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from django.db import connection

from extraction.models import ErrorGroup, ExtractionEvent
from sessions import persistence
from sessions.models import ProcessSession, ProcessStateChange, SessionStatus
from sessions.persistence import BatchWriter, DatabaseStore, SessionSpec, StoreUnavailable
from sessions.rebuild import load_spill
from sessions.remote import HttpStore, RemoteWriter
from tests.helpers import wait_for
from tests.sessions.helpers import make_ingest_token


def spec(tmp_path, name: str = "writer") -> SessionSpec:
    return SessionSpec(
        agent_name=name,
        argv=["make", "test"],
        command_line="make test",
        cwd=str(tmp_path),
        host="spec-host",
        pid=4242,
        environment={},
        mode="pipe",
        term_cols=80,
        term_rows=24,
        recording_path=str(tmp_path / f"{name}.cast"),
        started_at=time.time(),
    )


def rows(first: int, last: int, event_type: str = "error") -> list[dict]:
    """Event rows as the tap's pipeline hands them to the writer."""
    now = datetime.now(tz=UTC)
    return [
        {
            "seq": seq,
            "agent_name": "writer",
            "event_type": event_type,
            "rule": f"generic_{event_type}",
            "severity": "error" if event_type == "error" else "info",
            "risk_level": "medium",
            "auto_confirmable": False,
            "line_start": seq,
            "line_end": seq,
            "content": f"ERROR: number {seq}" if event_type == "error" else f"loss={seq}",
            "context": "",
            "metadata": {"n": seq},
            "timestamp": now,
            "offset_seconds": seq / 10,
        }
        for seq in range(first, last + 1)
    ]


def outcome() -> dict:
    return {"status": "failed", "exit_code": 3, "exit_signal": None, "ended_at": time.time() + 5}


def stored_seqs(session_pk: int) -> list[int]:
    return list(
        ExtractionEvent.objects.filter(session_id=session_pk)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


# ---- DatabaseStore -------------------------------------------------------------------------


def test_database_store_writes_a_session_idempotently_and_finishes_it_with_counts(
    transactional_db, tmp_path
):
    store = DatabaseStore()
    session = store.open_session(spec(tmp_path))
    assert ProcessSession.objects.get(pk=session.pk).status == SessionStatus.RUNNING

    batch = rows(1, 5) + rows(6, 7, "metric")
    states = [("waiting_for_input", {"seq": 5}, time.time()), ("running", {}, time.time())]
    stats = {"total_lines_processed": 70, "bytes_out": 700, "dropped_events": 2, "pid": 1}
    assert store.write_batch(session, batch, states, stats) == 7
    # The same batch again (a retry after a lost answer): nothing is stored twice.
    assert store.write_batch(session, batch, [], stats) == 0
    assert stored_seqs(session.pk) == [1, 2, 3, 4, 5, 6, 7]
    # One group for the five occurrences of one error, counted once.
    assert ErrorGroup.objects.get().count == 5

    row = ProcessSession.objects.get(pk=session.pk)
    assert row.last_heartbeat is not None  # every batch is a heartbeat
    assert (row.total_lines_processed, row.bytes_out, row.dropped_events) == (70, 700, 2)
    assert row.pid == 4242  # not a statistic: the spec's
    assert list(row.state_changes.values_list("state", flat=True)) == [
        "running", "waiting_for_input", "running"
    ]  # fmt: skip

    store.finish(session, outcome(), {**stats, "total_lines_processed": 80})
    row.refresh_from_db()
    assert (row.status, row.exit_code) == ("failed", 3)
    assert row.event_counts == {"error": 5, "metric": 2}
    assert row.total_extraction_events == 7
    assert row.total_lines_processed == 80
    assert row.state_changes.last().state == "failed"
    store.close()


def test_database_store_keeps_awkward_text_as_it_was_printed(transactional_db, tmp_path):
    # PostgreSQL takes the rows through COPY: tabs, newlines and backslashes are its syntax.
    store = DatabaseStore()
    session = store.open_session(spec(tmp_path))
    row = rows(1, 1)[0]
    row.update(content="tab\there\nnew line \\N back\\slash ✓", metadata={"raw": "nul\x00"})
    assert store.write_batch(session, [row], [], {}) == 1
    event = ExtractionEvent.objects.get(session_id=session.pk)
    assert event.content == "tab\there\nnew line \\N back\\slash ✓"
    # PostgreSQL cannot store NUL: it becomes U+FFFD there, and stays on SQLite.
    assert event.metadata["raw"] in ("nul\x00", "nul\ufffd")
    store.close()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite file's write lock")
def test_database_store_reports_another_writers_lock_as_contention(transactional_db, tmp_path):
    store = DatabaseStore()
    session = store.open_session(spec(tmp_path))
    store.close()
    options = connection.settings_dict["OPTIONS"]
    timeout = options["timeout"]
    options["timeout"] = 0.2
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable) as caught:
            store.write_batch(session, rows(1, 3), [], {})
        assert caught.value.contention
        holder.execute("ROLLBACK")
        # The lock is gone: the same rows are written on the next attempt.
        assert store.write_batch(session, rows(1, 3), [], {}) == 3
    finally:
        holder.close()
        options["timeout"] = timeout
        store.close()


# ---- BatchWriter over the database ---------------------------------------------------------


class DownStore(DatabaseStore):
    """The database store, refusing its first ``refusals`` calls as an unreachable server."""

    def __init__(self, refusals: float):
        super().__init__()
        self.refusals = refusals
        self.calls = 0

    def _refuse(self) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise StoreUnavailable("connection refused (the test's database is down)")

    def open_session(self, spec):
        self._refuse()
        return super().open_session(spec)

    def write_batch(self, session, events, states, stats):
        self._refuse()
        return super().write_batch(session, events, states, stats)

    def finish(self, session, outcome, stats):
        self._refuse()
        return super().finish(session, outcome, stats)


def run_writer(writer: BatchWriter, batches: list[list[dict]], timeout: float = 10.0) -> bool:
    writer.start()
    for batch in batches:
        writer.add_events(batch)
    writer.add_state("waiting_for_input", {"seq": 1})
    writer.update_stats(total_lines_processed=123, bytes_out=4567)
    return writer.finish(timeout=timeout, **outcome())


def test_the_writer_stores_everything_and_the_session_outcome(transactional_db, tmp_path):
    writer = BatchWriter(spec(tmp_path), batch_size=10, spill_dir=tmp_path / "spill")
    assert isinstance(writer.store, DatabaseStore)  # the default store
    assert run_writer(writer, [rows(1, 25), rows(26, 30, "metric")])
    session = ProcessSession.objects.get(pk=writer.session.pk)
    assert stored_seqs(session.pk) == list(range(1, 31))
    assert session.status == "failed" and session.event_counts == {"error": 25, "metric": 5}
    assert (session.total_lines_processed, session.bytes_out) == (123, 4567)
    assert session.dropped_events == 0
    assert writer.spill_path is None


def test_the_writer_retries_a_store_that_was_down_and_stores_each_event_once(
    transactional_db, tmp_path
):
    store = DownStore(refusals=3)
    writer = BatchWriter(spec(tmp_path), store, batch_size=10, spill_dir=tmp_path / "spill")
    assert run_writer(writer, [rows(1, 40)])
    assert store.calls > 3
    assert writer.last_error.startswith("connection refused")
    assert stored_seqs(writer.session.pk) == list(range(1, 41))
    assert ProcessSession.objects.get(pk=writer.session.pk).status == "failed"


def test_events_beyond_the_buffer_are_counted_in_the_sessions_stats(
    transactional_db, tmp_path, monkeypatch
):
    monkeypatch.setattr(persistence, "MAX_PENDING_EVENTS", 50)
    # The session opens, then the store is down while 80 events arrive: 30 do not fit.
    store = DownStore(refusals=0)
    writer = BatchWriter(spec(tmp_path), store, batch_size=1000, spill_dir=tmp_path / "spill")
    writer.start()
    writer.add_state("started", {})
    while writer.session is None:
        time.sleep(0.01)
    store.refusals = store.calls + 1_000_000
    writer.add_events(rows(1, 80))
    # The tap dropped 5 more before handing them over (its own outbox was full).
    writer.update_stats(dropped_events=5)
    store.refusals = 0  # back
    assert writer.finish(timeout=10, **outcome())
    session = ProcessSession.objects.get(pk=writer.session.pk)
    assert stored_seqs(session.pk) == list(range(1, 51))
    assert session.dropped_events == 35


def test_a_store_down_past_the_finish_spills_everything_for_recover(transactional_db, tmp_path):
    store = DownStore(refusals=float("inf"))
    writer = BatchWriter(spec(tmp_path), store, batch_size=10, spill_dir=tmp_path / "spill")
    assert not run_writer(writer, [rows(1, 12)], timeout=0.5)
    assert writer.spill_path is not None and writer.session is None
    records = [json.loads(line) for line in writer.spill_path.read_text().splitlines()]
    assert [r["row"]["seq"] for r in records if r["kind"] == "event"] == list(range(1, 13))
    finish = records[-1]
    assert finish["finish"]["status"] == "failed"
    assert finish["stats"] == {"total_lines_processed": 123, "bytes_out": 4567}
    assert finish["last_error"].startswith("connection refused")

    # `recover` loads it: the session, its events, its state and its outcome.
    session = load_spill(writer.spill_path, None)
    assert stored_seqs(session.pk) == list(range(1, 13))
    assert (session.status, session.exit_code, session.total_extraction_events) == ("failed", 3, 12)
    assert session.total_lines_processed == 123
    assert ProcessStateChange.objects.filter(session=session, state="waiting_for_input").exists()


# ---- HttpStore against a real server -------------------------------------------------------


@pytest.fixture
def ingest_token(transactional_db) -> str:
    return make_ingest_token()


def test_http_store_writes_through_the_ingest_api_idempotently(live_server, ingest_token, tmp_path):
    the_spec = spec(tmp_path, "far")
    store = HttpStore(the_spec, server_url=live_server.url, token=ingest_token)
    session = store.open_session(the_spec)
    row = ProcessSession.objects.get(pk=session.pk)
    assert row.session_id == session.session_id
    assert row.recording_path.startswith("remote://spec-host/")

    batch = rows(1, 6)
    stats = {"total_lines_processed": 60, "bytes_out": 600, "dropped_events": 1}
    assert store.write_batch(session, batch, [("waiting_for_input", {}, time.time())], stats) == 6
    assert store.write_batch(session, batch, [], stats) == 0
    assert stored_seqs(session.pk) == [1, 2, 3, 4, 5, 6]
    row.refresh_from_db()
    assert row.last_heartbeat is not None and row.dropped_events == 1

    store.finish(session, outcome(), {**stats, "total_lines_processed": 61})
    row.refresh_from_db()
    assert (row.status, row.exit_code, row.event_counts) == ("failed", 3, {"error": 6})
    assert row.total_lines_processed == 61


def test_http_store_errors_are_store_unavailable(live_server, ingest_token, tmp_path):
    the_spec = spec(tmp_path, "far")
    refused = HttpStore(the_spec, server_url=live_server.url, token="not-a-token")
    with pytest.raises(StoreUnavailable, match="HTTP 401"):
        refused.open_session(the_spec)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    away = HttpStore(the_spec, server_url=f"http://127.0.0.1:{closed_port}", token=ingest_token)
    with pytest.raises(StoreUnavailable, match="refused"):
        away.write_batch(None, rows(1, 1), [], {})


def test_a_remote_writer_is_the_batch_writer_over_http(live_server, ingest_token, tmp_path):
    writer = RemoteWriter(
        spec(tmp_path, "far"),
        server_url=live_server.url,
        token=ingest_token,
        batch_size=10,
        spill_dir=tmp_path / "spill",
    )
    assert isinstance(writer, BatchWriter) and isinstance(writer.store, HttpStore)
    assert run_writer(writer, [rows(1, 25)])
    session = ProcessSession.objects.get(pk=writer.session.pk)
    assert stored_seqs(session.pk) == list(range(1, 26))
    assert (session.status, session.total_extraction_events) == ("failed", 25)
    assert (session.total_lines_processed, session.bytes_out) == (123, 4567)


def test_the_sessions_end_is_stored_before_the_output_index_catches_up(
    transactional_db, tmp_path, monkeypatch
):
    # Under load the index's catch-up of a flood's last lines outlasted the finish budget, and
    # a finished program's session stayed "running" (50 taps at once on PostgreSQL).
    seen = []

    def index_output(writer):
        status = ProcessSession.objects.values_list("status", flat=True).get(pk=writer.session.pk)
        seen.append((writer._stopping, status))

    monkeypatch.setattr(persistence, "index_output_after_batch", index_output)
    writer = BatchWriter(spec(tmp_path), batch_size=10, spill_dir=tmp_path / "spill")
    assert run_writer(writer, [rows(1, 25)])
    # The last catch-up runs once the outcome is stored (earlier ones follow ordinary batches).
    assert seen[-1] == (True, "failed")
    assert [status for _, status in seen].count("failed") == 1


def test_a_writer_with_a_full_batch_waiting_is_behind(transactional_db, tmp_path):
    writer = BatchWriter(spec(tmp_path), batch_size=10, spill_dir=tmp_path / "spill")
    writer.add_events(rows(1, 9))
    assert not writer.is_behind()
    writer.add_events(rows(10, 10))
    assert writer.is_behind()


@pytest.mark.parametrize(
    "decision, written_at_once",
    [
        (None, True),  # someone may answer it from the dashboard, which needs its row
        ("superseded", False),  # the program printed past it: nobody can
        ("approve", False),  # the policy answered it
    ],
)
def test_only_a_prompt_someone_may_still_answer_is_written_ahead_of_its_batch(
    transactional_db, tmp_path, decision, written_at_once
):
    writer = BatchWriter(spec(tmp_path), batch_size=1000, batch_seconds=60, spill_dir=tmp_path)
    writer.start()
    try:
        wait_for(lambda: writer.session is not None, 30, "the session row")
        prompt = rows(1, 1, "prompt")
        prompt[0]["prompt_decision"] = decision
        writer.add_events(prompt)
        if written_at_once:
            wait_for(lambda: stored_seqs(writer.session.pk) == [1], 30, "the prompt's row")
        else:
            time.sleep(1.0)  # many write intervals: the batch waits for its 60 s
            assert stored_seqs(writer.session.pk) == []
    finally:
        assert writer.finish(timeout=30, **outcome())
    assert stored_seqs(writer.session.pk) == [1]
