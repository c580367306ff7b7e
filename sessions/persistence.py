"""Batched, idempotent persistence of a tap's session, events and state changes.

The wrapped program must never wait for the database, so everything here runs on the writer's
own thread: the tap only appends to in-memory lists. Rows are written 100 at a time (or 5 s
after the oldest pending one, or at exit) with ``INSERT … ON CONFLICT DO NOTHING`` on
``(session, seq)``, so a retry, a recovery or a second writer never stores an event twice.
When the database stays unreachable, whatever is still pending at exit goes to a spill file
that ``manage.py recover`` loads.
"""

from __future__ import annotations

import json
import logging
import operator
import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from extraction.event_shape import EVENT_DEFAULTS
from extraction.groups import GroupWriter
from extraction.models import CodeBlock, ExtractionEvent
from output_search.indexer import after_batch as index_output_after_batch
from sessions.models import ProcessSession, converter, execute_rows
from streamtap_site.schema import migrate_if_needed

log = logging.getLogger(__name__)

# The server reads the same setting to tell a live tap from a dead one (sessions/models.py).
HEARTBEAT_SECONDS = settings.STREAMTAP["HEARTBEAT_SECONDS"]
# A full batch, or a state change, waits until this long after the previous write: under a
# flood of events the batches grow instead of the commits multiplying (a commit rewrites every
# index's dirty pages; 1,000 rows per commit insert about twice as fast as 100). A program
# answering prompts in a loop changes state several times per prompt: writing at each change
# made 140 small commits of 1M lines' events. Longer than this, the batches (held in memory
# while the previous one is written) cost more memory than the commits they save.
MIN_WRITE_INTERVAL = 0.1
# The writer's SQLite page cache (KiB; the default is 2 MB). Ten indexes take random inserts,
# and with the default their pages were re-read all the time; 8 MB keeps most of that gain and
# the tap and its writer inside their memory budget.
WRITER_CACHE_KIB = 8_000
# The writer's connection folds the WAL back into the database (a checkpoint: pages copied, two
# fsyncs) once it holds this many pages (SQLite's default is 1,000, 4 MB). A batch of 1,000 events
# dirties ~650 pages (the rows and every index's pages they land in), so the default checkpointed
# after nearly every commit: ~30 % of SQLite's time in bench_persist's engine line, mostly the
# fsyncs. 10,000 (40 MB of WAL) copies each hot index page once per ~15 batches instead, and the
# WAL stays bounded. The inserter, 100,000 events, batch 1,000, interleaved: commits 1.27-1.42 s
# → 0.83-0.90 s, the last connection's close (its final checkpoint) 0.005 → 0.09 s.
WRITER_WAL_AUTOCHECKPOINT_PAGES = 10_000
MAX_PENDING_EVENTS = 500_000  # beyond this the recording alone carries them (recover rebuilds)


@dataclass
class SessionSpec:
    """Everything needed to create the session row, known before the database answers."""

    agent_name: str
    argv: list[str]
    command_line: str
    cwd: str
    host: str
    pid: int | None
    environment: dict
    mode: str
    term_cols: int
    term_rows: int
    recording_path: str
    started_at: float  # epoch seconds
    tap_pid: int = field(default_factory=os.getpid)

    def as_fields(self) -> dict:
        return {
            "argv": self.argv,
            "command_line": self.command_line,
            "cwd": self.cwd,
            "host": self.host,
            "pid": self.pid,
            "environment": self.environment,
            "mode": self.mode,
            "term_cols": self.term_cols,
            "term_rows": self.term_rows,
            "recording_path": self.recording_path,
            "started_at": datetime.fromtimestamp(self.started_at, tz=UTC),
        }


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _is_sha256(value) -> bool:
    # A regex, not a generator over the characters: 64 steps of Python per code block were a
    # tenth of the code blocks' linking.
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def clean_json(value):
    """JSON from outside (the ingest API) as any database stores it: no NUL, no lone surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {clean_json(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def epoch_to_dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


# The tap's rows into PostgreSQL: COPY (``EventInserter._copy``) from this many new rows on;
# fewer go through executemany (pipelined by psycopg). Per batch, the whole insert() on this
# machine (2 cores, load ~2, bench rows; measured when the COPY went through a temporary table,
# one statement more than now): 1 row: executemany 1.4-1.6 ms,
# binary COPY 1.9-2.0 ms (COPY costs two more round trips); 3 rows: 2.3-2.5 ms both; 10 rows:
# 4.4-4.8 vs 3.8-4.2 ms; 100 rows (the tap's batch): 17.5-17.8 vs 11.2-11.7 ms; 1,000 rows:
# ~15 vs ~9 s per 100,000 events (docs/tap-performance.md).
COPY_MIN_ROWS = 3
# Binary COPY (typed by the columns) over text: 100 rows 39,000-41,000 events per CPU-s vs
# 34,000-38,000, 1,000 rows 80,000 vs 68,000 (the wall time is PostgreSQL's, see the docs).
COPY_BINARY = True


def _base_type(db_type: str) -> str:
    """``varchar(16)`` → ``varchar``: the type name psycopg's COPY dumpers are chosen by."""
    return db_type.split("(", 1)[0].strip()


class InsertPlan(NamedTuple):
    """How rows with one set of keys become an INSERT's parameters (``EventInserter._plan``)."""

    # executemany's INSERT: the columns from the rows, the bound constants, the session.
    sql: str
    # The columns taken from the rows, in the model's order: (key, default for a row that
    # lacks it, converter or None, whether every row has the key).
    from_rows: list[tuple[str, object, Callable | None, bool]]
    # The values bound on every row for the columns no row has and whose default is not NULL.
    bound: tuple
    # The values of every column no row has (COPY sends them on every row).
    absent: tuple
    # COPY's column order: the columns from the rows, those no row has, the session.
    ordered: list


class EventInserter:
    """Event rows built from the model's _meta (bulk_create is ~5× slower): ``executemany``, or
    on PostgreSQL from COPY_MIN_ROWS new rows on, COPY (``_copy``)."""

    def __init__(self):
        meta = ExtractionEvent._meta
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.converters = {f.attname: converter(f, connection.vendor) for f in self.fields}
        if connection.vendor == "sqlite":
            # The driver binds a bool through its slow adaptation path (~0.5 µs a value) and
            # stores it as the integer anyway.
            for f in self.fields:
                if f.get_internal_type() == "BooleanField":
                    self.converters[f.attname] = int
        self._plans: dict[tuple[frozenset, frozenset], InsertPlan] = {}
        self.groups = GroupWriter()
        # PostgreSQL: batches of this many new rows or more go through COPY (see COPY_MIN_ROWS).
        self.copy_min_rows = COPY_MIN_ROWS if connection.vendor == "postgresql" else None
        self.copy_binary = COPY_BINARY
        self._copy_plans: dict[tuple, tuple] = {}
        # A tap's row lacks what the event has before anyone reviews it (the EVENT shape's
        # defaults, extraction/event_shape.py) and the columns only the server sets.
        self.defaults = {
            **EVENT_DEFAULTS,
            "metadata": {},
            "review_note": "",
            "reviewed_by_id": None,
            "reviewed_at": None,
            "code_block_id": None,
        }

    def insert(self, session_pk: int, rows: list[dict]) -> list[dict]:
        """Insert rows not yet stored; returns those that were new (for counts and code blocks)."""
        if not rows:
            return []
        seqs = [r["seq"] for r in rows]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq FROM extraction_events WHERE session_id = %s AND seq BETWEEN %s AND %s",
                [session_pk, min(seqs), max(seqs)],
            )
            existing = {s for (s,) in cursor.fetchall()}
            new_rows = [r for r in rows if r["seq"] not in existing]
            if not new_rows:
                return []
            self._link_code_blocks(cursor, new_rows)
            # Only new rows reach the groups: a batch written twice counts once.
            representatives = self.groups.prepare(cursor, session_pk, new_rows)
            if self.copy_min_rows is not None and len(new_rows) >= self.copy_min_rows:
                try:
                    with transaction.atomic():  # a savepoint: the COPY may fail alone
                        self._copy(cursor, session_pk, new_rows)
                except IntegrityError:
                    # Another writer stored some of these rows since the SELECT (an ingest
                    # request retried while the first was still writing): the statement that
                    # skips them, as every path did before COPY.
                    cursor.executemany(*self.statement(session_pk, new_rows))
            else:
                cursor.executemany(*self.statement(session_pk, new_rows))
            self.groups.link_representatives(cursor, representatives)
        return new_rows

    def statement(
        self, session_pk: int | None, rows: list[dict], *, plan_key: tuple | None = None
    ) -> tuple[str, list[tuple]]:
        """The INSERT and its parameters for these rows (no code-block linking, no query).

        ``session_pk`` None: the parameters stop before the columns no row has and the session
        (what the COPY path writes; ``plan_key`` from ``_plan_key``)."""
        # Rows of one batch usually carry the same keys (the pipeline builds them alike): one
        # plan for the batch. The parameters are built a column at a time (a C-level map per
        # column, Python only for the converted ones) and zipped into rows, which keep their
        # order (ids follow seq).
        plan = self._plan(*(plan_key or self._plan_key(rows)))
        columns = []
        for name, default, convert, in_every_row in plan.from_rows:
            values = (
                map(operator.itemgetter(name), rows)
                if in_every_row
                else [row.get(name, default) for row in rows]
            )
            if convert is not None:
                values = [None if value is None else convert(value) for value in values]
            columns.append(values)
        if session_pk is not None:
            columns += [repeat(value, len(rows)) for value in (*plan.bound, session_pk)]
        return plan.sql, list(zip(*columns, strict=True))

    @staticmethod
    def _plan_key(rows: list[dict]) -> tuple[frozenset, frozenset]:
        first_keys = rows[0].keys()
        if all(row.keys() == first_keys for row in rows):
            return frozenset(first_keys), frozenset()
        # e.g. code_block_id on code blocks only, or rows from the ingest API
        common = frozenset(first_keys).intersection(*rows)
        return common, frozenset().union(*rows) - common

    def _plan(self, common: frozenset, optional: frozenset) -> InsertPlan:
        """How rows with these keys are inserted (``common``: keys every row has; ``optional``:
        keys only some rows have); see InsertPlan."""
        key = (common, optional)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        from_rows, absent = [], []
        for f in self.fields:
            if f.attname == "session_id":
                continue
            (from_rows if f.attname in common or f.attname in optional else absent).append(f)
        absent_values = []
        for f in absent:
            value = self.defaults.get(f.attname)
            convert = self.converters[f.attname]
            absent_values.append(
                convert(value) if convert is not None and value is not None else value
            )
        # The columns no row has and whose value is NULL are left out of the INSERT (they have
        # no default of their own, so they are NULL all the same): the driver binds NULL, like
        # a boolean, through its slow adaptation path, ~0.5 µs a value, and a tap's row left
        # eight of them (a fifth of SQLite's insert). The others are bound as constants.
        bound = [
            (f, value) for f, value in zip(absent, absent_values, strict=True) if value is not None
        ]
        session = ExtractionEvent._meta.get_field("session")
        inserted = [*from_rows, *(f for f, _ in bound), session]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in inserted)
        placeholders = ", ".join(["%s"] * len(inserted))
        sql = (
            f"INSERT INTO {ExtractionEvent._meta.db_table} ({columns}) VALUES ({placeholders}) "
            "ON CONFLICT (session_id, seq) DO NOTHING"
        )
        plan = InsertPlan(
            sql=sql,
            from_rows=[
                (
                    f.attname,
                    self.defaults.get(f.attname),
                    self.converters[f.attname],
                    f.attname in common,
                )
                for f in from_rows
            ],
            bound=tuple(value for _, value in bound),
            absent=tuple(absent_values),
            ordered=[*from_rows, *absent, session],
        )
        self._plans[key] = plan
        return plan

    def _copy(self, cursor, session_pk: int, rows: list[dict]) -> None:
        """PostgreSQL: COPY the new rows straight into the events table, in seq order (ids
        follow seq), with the same converted values as the executemany (``statement``'s plan).

        COPY has no ON CONFLICT: ``insert`` sends only rows its SELECT found missing, and a row
        another writer stored meanwhile fails the COPY, which ``insert`` then redoes with
        executemany's ON CONFLICT DO NOTHING. Into a temporary table first, then one
        INSERT … SELECT … ON CONFLICT, cost the server a quarter more CPU per row (the rows
        written, read, deleted and sorted again): 3.2 → 2.5-2.6 server CPU-s per 100,000
        events, 24,000 → 29,000-31,000 events/s at batch 1,000, interleaved
        (bench/profile_persist_postgres.py; docs/tap-performance.md, session 15)."""
        if any(a["seq"] > b["seq"] for a, b in zip(rows, rows[1:], strict=False)):
            rows = sorted(rows, key=operator.itemgetter("seq"))
        key = self._plan_key(rows)
        _, values = self.statement(None, rows, plan_key=key)
        copy_sql, types = self._copy_plan(key)
        # The columns no row has, and the session: the same on every row.
        constants = (*self._plan(*key).absent, session_pk)
        raw = cursor.cursor  # psycopg's own, inside the caller's transaction
        # psycopg's errors as Django's (IntegrityError, OperationalError…), as every other
        # statement's: the caller and the writer's retry catch those.
        with connection.wrap_database_errors, raw.copy(copy_sql) as copy:
            if self.copy_binary:
                copy.set_types(types)
            write_row = copy.write_row
            for row in values:
                write_row(row + constants)

    def _copy_plan(self, key: tuple[frozenset, frozenset]) -> tuple[str, list[str]]:
        """(COPY statement, its columns' type names) for one plan: every column, in the plan's
        order (the columns from the rows, those no row has, the session)."""
        cached = self._copy_plans.get((key, self.copy_binary))
        if cached is not None:
            return cached
        ordered = self._plan(*key).ordered
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in ordered)
        fmt = " (FORMAT BINARY)" if self.copy_binary else ""
        plan = (
            f"COPY {ExtractionEvent._meta.db_table} ({columns}) FROM STDIN{fmt}",
            [_base_type(f.db_type(connection)) for f in ordered],
        )
        self._copy_plans[(key, self.copy_binary)] = plan
        return plan

    def _link_code_blocks(self, cursor, rows: list[dict]) -> None:
        blocks = [
            r
            for r in rows
            if r["event_type"] == "code_block"
            and _is_sha256((r.get("metadata") or {}).get("sha256"))
        ]
        if not blocks:
            return
        table = CodeBlock._meta.db_table
        sql = (
            f"INSERT INTO {table} (sha256, language, content, first_seen, last_seen, occurrences) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sha256) DO UPDATE SET "
            f"occurrences = {table}.occurrences + excluded.occurrences, "
            "last_seen = excluded.last_seen"
        )
        # The event rows' own conversion of their timestamp (Django's per-field preparation
        # was 8 % of the inserter on the bench rows).
        convert = self.converters["timestamp"]
        # One row per block, as the batch's upserts one by one would leave it: the first
        # occurrence's language, text and time, the last one's time, the count.
        by_sha: dict[str, list] = {}
        for r in blocks:
            ts = r["timestamp"]
            if convert is not None and ts is not None:
                ts = convert(ts)
            sha = r["metadata"]["sha256"]
            seen = by_sha.get(sha)
            if seen is None:
                language = str(r["metadata"].get("language") or "")[:40]
                by_sha[sha] = [sha, language, r["content"], ts, ts, 1]
            else:
                seen[4] = ts
                seen[5] += 1
        # In sha order: two writers upserting the same blocks lock them in the same order.
        execute_rows(cursor, sql, [by_sha[sha] for sha in sorted(by_sha)])
        shas = list(by_sha)
        placeholders = ", ".join(["%s"] * len(shas))
        cursor.execute(f"SELECT sha256, id FROM {table} WHERE sha256 IN ({placeholders})", shas)
        ids = dict(cursor.fetchall())
        for r in blocks:
            r["code_block_id"] = ids.get(r["metadata"]["sha256"])


def tune_writer_connection(raw, vendor: str) -> None:
    """Settings of the writer's own connection (``raw``: the driver's connection)."""
    if vendor == "sqlite":
        raw.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        raw.execute(f"PRAGMA wal_autocheckpoint={WRITER_WAL_AUTOCHECKPOINT_PAGES}")
    elif vendor == "postgresql":
        # A commit need not wait for the server's disk: the recording is the write-ahead log,
        # and what a server crash loses of the last batches `recover` stores again (every
        # write is idempotent). Ordinary durability for everyone else's transactions.
        raw.execute("SET synchronous_commit TO off")


class StoreUnavailable(Exception):
    """A store could not take a write now (database down or locked, server away).

    ``contention``: another writer held a lock too long; no outage worth telling the user about.
    """

    def __init__(self, message: str, *, contention: bool = False):
        super().__init__(message)
        self.contention = contention


class DatabaseStore:
    """The tap's rows straight into this host's database (the default store).

    Used from the writer's thread only. The connection stays open between batches (reopening
    one per batch cost more than the inserts); a failure closes it, and the retry opens a fresh
    one.
    """

    def __init__(self):
        self._inserter: EventInserter | None = None
        self._tuned_connection = None
        self._schema_checked = False

    def open_session(self, spec: SessionSpec) -> ProcessSession:
        with self._database():
            if not self._schema_checked:
                # Here, in the writer, while the program already runs: a tap on a new data
                # directory creates the tables instead of retrying a write that cannot succeed.
                migrate_if_needed()
                self._schema_checked = True
            return ProcessSession.start(spec.agent_name, tap_pid=spec.tap_pid, **spec.as_fields())

    def write_batch(
        self,
        session: ProcessSession,
        events: list[dict],
        states: list[tuple[str, dict, float]],
        stats: dict,
    ) -> int:
        """Store events (idempotently), state changes and stats in one transaction, and beat
        the heartbeat. Returns how many events were new."""
        with self._database():
            if self._inserter is None:
                self._inserter = EventInserter()
            with transaction.atomic():
                new_rows = self._inserter.insert(session.pk, events)
                session.change_states(
                    [(state, metadata, epoch_to_dt(at)) for state, metadata, at in states]
                )
                session.record_stats(stats)
            return len(new_rows)

    def finish(self, session: ProcessSession, outcome: dict, stats: dict) -> None:
        with self._database():
            session.finish(
                status=outcome["status"],
                exit_code=outcome["exit_code"],
                exit_signal=outcome["exit_signal"],
                ended_at=epoch_to_dt(outcome["ended_at"]),
                stats=stats,
            )

    def close(self) -> None:
        try:
            connection.close()
        except DatabaseError:
            pass

    @contextmanager
    def _database(self):
        try:
            self._tune_connection()
            yield
        except DatabaseError as exc:
            self.close()
            raise StoreUnavailable(str(exc), contention=is_lock_contention(exc)) from exc

    def _tune_connection(self) -> None:
        connection.ensure_connection()
        raw = connection.connection
        if raw is not self._tuned_connection:
            tune_writer_connection(raw, connection.vendor)
            self._tuned_connection = raw


class BatchWriter(threading.Thread):
    """Owns the store side of one tap. Thread-safe ``add_*`` calls; all I/O on this thread.

    One buffer (bounded by MAX_PENDING_EVENTS), one retry policy (backoff from 0.2 s doubling
    to 5 s), one spill file; ``store`` is where the rows go (DatabaseStore by default).
    """

    def __init__(
        self,
        spec: SessionSpec,
        store=None,
        *,
        batch_size: int = 100,
        batch_seconds: float = 5.0,
        spill_dir: str | os.PathLike = "data/spill",
        on_session=None,
    ):
        super().__init__(name="streamtap-writer", daemon=True)
        self.spec = spec
        self.store = store if store is not None else DatabaseStore()
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.spill_dir = Path(spill_dir)
        self.on_session = on_session
        self.session = None  # what the store's open_session gave (a .session_id and a .pk)
        self._cond = threading.Condition()
        self._events: list[dict] = []
        self._oldest_pending: float | None = None
        # A prompt among the pending events: someone may want to answer it from the dashboard,
        # which needs its row, so it is written as soon as a state change would be.
        self._prompt_pending = False
        self._states: list[tuple[str, dict, float]] = []
        self._stats: dict = {}
        self._finish: dict | None = None
        self._stopping = False
        self._done = threading.Event()
        self._backoff = 0.0
        self._retry_at = 0.0
        # Events beyond the buffer's bound: the recording keeps them, the session's
        # dropped_events says how many (with any the tap dropped before handing them over).
        self.dropped_events = 0
        # Why the store failed last: said when the writer gives up and spills.
        self.last_error: str = ""
        self.spill_path: Path | None = None
        self._spill_lock = threading.Lock()
        self._spill_failed = False
        self._reported_down = False
        self._last_write = time.monotonic()
        # The batch being written right now: a spill must include it if that write never ends.
        self._in_flight: list[dict] = []
        self._in_flight_states: list = []

    # ---- called from the tap's thread (cheap, never blocks on I/O) ----

    def add_events(self, rows: list[dict]) -> None:
        with self._cond:
            room = MAX_PENDING_EVENTS - len(self._events)
            if room < len(rows):
                self.dropped_events += len(rows) - max(room, 0)
                rows = rows[: max(room, 0)]
            if not rows:
                return
            first = not self._events
            if first:
                self._oldest_pending = time.monotonic()
            self._events.extend(rows)
            prompt = _has_prompt(rows)
            self._prompt_pending = self._prompt_pending or prompt
            # Wake the writer for a full batch, and for the first pending event: it may be
            # asleep until the heartbeat and must now wait only BATCH_SECONDS (a quiet agent's
            # last events are stored on time).
            if first or prompt or len(self._events) >= self.batch_size:
                self._cond.notify()

    def add_state(self, state: str, metadata: dict | None = None, at: float | None = None) -> None:
        with self._cond:
            self._states.append((state, metadata or {}, at or time.time()))
            self._cond.notify()

    def update_stats(self, **stats) -> None:
        # Stats ride along with the next batch: no wake-up of their own. A "dropped_events"
        # here counts what the tap dropped before the rows reached this writer.
        with self._cond:
            self._stats.update(stats)

    def finish(
        self,
        *,
        status: str,
        exit_code: int | None,
        exit_signal: int | None,
        ended_at: float,
        timeout: float = 10.0,
    ) -> bool:
        """Final flush; returns True when everything reached the store (else it was spilled,
        or could not even be spilled)."""
        with self._cond:
            self._finish = {
                "status": status,
                "exit_code": exit_code,
                "exit_signal": exit_signal,
                "ended_at": ended_at,
            }
            self._stopping = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify()
        if not self._done.wait(timeout + 5):
            # The writer is stuck inside one store call (a lock, an unanswering server): the
            # program has exited and we will not wait forever, so everything still in memory
            # goes to the spill file now. `recover` loads it (and re-reads the recording).
            self._spill()
        return self.spill_path is None and not self._spill_failed

    # ---- the writer thread ----

    def run(self) -> None:
        try:
            while True:
                with self._cond:
                    # Check before waiting: a notify() sent while we were writing is not queued.
                    if not self._stopping and not self._work_ready():
                        self._cond.wait(timeout=self._wait_timeout())
                    stopping = self._stopping
                    due = self._work_ready()
                if stopping:
                    self._final_flush()
                    return
                # A full batch, a state change, the oldest event's deadline or the heartbeat;
                # a wake-up for the first pending event only recomputes the deadline.
                if due:
                    self._flush_once()
        except Exception:  # never die silently: whatever is pending goes to the spill file
            log.exception("streamtap writer crashed")
            self._spill()
        finally:
            self.store.close()
            self._done.set()

    def _work_ready(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        return (
            self.session is None
            or (
                (self._states or self._prompt_pending or len(self._events) >= self.batch_size)
                and now - self._last_write >= MIN_WRITE_INTERVAL
            )
            or (bool(self._events) and now - self._oldest_pending >= self.batch_seconds)
            or now - self._last_write >= HEARTBEAT_SECONDS
        )

    def _wait_timeout(self) -> float:
        now = time.monotonic()
        timeouts = [HEARTBEAT_SECONDS]
        if self._retry_at > now:
            timeouts.append(self._retry_at - now)
        elif self.session is None:
            timeouts.append(0.0)
        else:
            if self._oldest_pending is not None and self._events:
                timeouts.append(max(0.0, self._oldest_pending + self.batch_seconds - now))
            if self._states or self._prompt_pending or len(self._events) >= self.batch_size:
                timeouts.append(max(0.0, self._last_write + MIN_WRITE_INTERVAL - now))
        return max(0.005, min(timeouts))

    def is_behind(self) -> bool:
        """A full batch is already waiting: the program prints faster than the store takes it."""
        return len(self._events) >= self.batch_size

    def _flush_once(self, *, index_output: bool = True) -> bool:
        """Open the session if need be and write what is pending; False when the store failed
        (the rows stay pending and the next attempt waits for the backoff)."""
        try:
            if self.session is None:
                self.session = self.store.open_session(self.spec)
                if self.on_session:
                    self.on_session(self.session)
            self._write_pending()
        except StoreUnavailable as exc:
            self._failed(exc)
            return False
        self._last_write = time.monotonic()
        if index_output:
            # The recording's new lines into the output search index (output_search/indexer.py).
            index_output_after_batch(self)
        if self._reported_down:
            log.warning("streamtap: database back; pending events written")
            self._reported_down = False
        self._backoff = 0.0
        self._retry_at = 0.0
        return True

    def _failed(self, exc: StoreUnavailable) -> None:
        """The one retry policy: back off 0.2 s, doubling up to 5 s."""
        self.last_error = str(exc)
        if not self._reported_down and not exc.contention:
            # Once per outage, not once per retry: this goes to the user's terminal. Waiting
            # for another writer's lock is no outage: those retries stay quiet, and if they
            # never succeed the spill at the end says so.
            log.warning("streamtap: database unavailable (%s); buffering and retrying", exc)
            self._reported_down = True
        self._backoff = min(5.0, self._backoff * 2 or 0.2)
        self._retry_at = time.monotonic() + self._backoff

    def _current_stats(self) -> dict:
        """The stats to store now (called with the lock held)."""
        stats = dict(self._stats)
        dropped = stats.get("dropped_events", 0) + self.dropped_events
        if dropped:
            stats["dropped_events"] = dropped
        return stats

    def _write_pending(self) -> None:
        with self._cond:
            events, self._events = self._events, []
            states, self._states = self._states, []
            stats = self._current_stats()
            self._oldest_pending = None
            self._prompt_pending = False
            self._in_flight, self._in_flight_states = events, states
        try:
            self.store.write_batch(self.session, events, states, stats)
            with self._cond:
                self._in_flight, self._in_flight_states = [], []
        except BaseException:
            # Put everything back in order; the next attempt writes it (idempotently).
            with self._cond:
                self._in_flight, self._in_flight_states = [], []
                self._events[:0] = events
                self._states[:0] = states
                self._prompt_pending = self._prompt_pending or _has_prompt(events)
                if self._events and self._oldest_pending is None:
                    self._oldest_pending = time.monotonic()
            raise

    def _final_flush(self) -> None:
        while True:
            # The session's end first, the search index's catch-up after: under load the
            # catch-up of a flood's last lines could outlast the finish budget and leave a
            # finished program's session "running".
            if self._flush_once(index_output=False):
                with self._cond:
                    stats = self._current_stats()
                try:
                    self.store.finish(self.session, self._finish, stats)
                except StoreUnavailable as exc:
                    self._failed(exc)
                else:
                    index_output_after_batch(self)
                    return
            if time.monotonic() >= self._deadline:
                self._spill()
                return
            time.sleep(min(self._backoff or 0.2, max(0.0, self._deadline - time.monotonic())))

    def _spill(self) -> None:
        """Write what the store did not take to a JSONL file for ``manage.py recover``."""
        with self._spill_lock:
            if self.spill_path is None and not self._spill_failed:
                if self.last_error:
                    log.warning("streamtap: the database's last error: %s", self.last_error)
                try:
                    self._write_spill()
                except OSError as exc:
                    # A full disk: a half-written spill would only mislead `recover`, which
                    # rebuilds the session from its recording instead.
                    self._spill_failed = True
                    self.spill_path = None
                    Path(exc.filename or self._spill_file()).unlink(missing_ok=True)
                    log.warning(
                        "streamtap: could not write the spill file (%s); `manage.py recover` "
                        "rebuilds the session from its recording",
                        exc.strerror or exc,
                    )

    def _spill_file(self) -> Path:
        return self.spill_dir / (Path(self.spec.recording_path).stem + ".spill.jsonl")

    def _write_spill(self) -> None:
        with self._cond:
            events = list(self._in_flight) + list(self._events)
            states = list(self._in_flight_states) + list(self._states)
            stats = self._current_stats()
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self._spill_file()
        with open(path, "w", encoding="utf-8") as f:
            spec = dict(self.spec.__dict__)
            f.write(
                json.dumps(
                    {
                        "kind": "session",
                        "spec": spec,
                        "session_id": self.session.session_id if self.session else None,
                    }
                )
                + "\n"
            )
            for row in events:
                f.write(json.dumps({"kind": "event", "row": row}, default=_json_default) + "\n")
            for state, metadata, at in states:
                f.write(
                    json.dumps({"kind": "state", "state": state, "metadata": metadata, "at": at})
                    + "\n"
                )
            f.write(
                json.dumps(
                    {
                        "kind": "finish",
                        "finish": self._finish,
                        "stats": stats,
                        "last_error": self.last_error,
                    }
                )
                + "\n"
            )
        self.spill_path = path


# What SQLite and PostgreSQL say when another writer holds a lock too long.
_LOCK_MESSAGES = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "lock timeout",
    "deadlock detected",
    "could not serialize access",
)


def is_lock_contention(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(message in text for message in _LOCK_MESSAGES)


def _has_prompt(rows: list[dict]) -> bool:
    """A prompt someone may still answer: one already decided (the policy's, or a question the
    program printed past) does not hurry the batch."""
    return any(
        row.get("event_type") == "prompt" and row.get("prompt_decision") is None for row in rows
    )


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
