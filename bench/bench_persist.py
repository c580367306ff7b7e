"""Persistence alone: event rows through sessions.persistence.EventInserter vs Django bulk_create.

    .venv/bin/python bench/bench_persist.py [--events 200000] [--backends sqlite,postgres]

The rows are the ones a tap's extraction process hands its writer (sessions.pipeline.Pipeline
over bench_extractor's generated output, code blocks included, errors and warnings marked with
their fingerprints), repeated with fresh seq numbers up to --events. Each
measurement runs in its own process against a fresh database (a new SQLite file in WAL mode; a
scratch PostgreSQL database created for it and dropped after, from STREAMTAP_BENCH_PG, default
postgres://postgres@127.0.0.1:5432) and writes the rows batch by batch, one transaction per
batch, as the tap's writer does:

- inserter (batch 100 / 1,000): EventInserter as the tap uses it; after a SELECT of the batch's
  seqs already stored, plus the code-block and error-group upserts: on SQLite `executemany` of
  INSERT … ON CONFLICT DO NOTHING, on PostgreSQL binary COPY of the rows not stored yet straight
  into extraction_events (sessions.persistence.COPY_MIN_ROWS; `bench/profile_persist_postgres.py`
  splits its time between this process, the server and each statement).
- inserter-executemany / inserter-copy-text (PostgreSQL only): the same EventInserter made to
  take its other paths: `executemany` (pipelined by psycopg), or COPY in text format.
- inserter-no-backlog (PostgreSQL only): the inserter with the `?q=` search's insert trigger
  dropped (it records each statement's id range for the side table's catch-up,
  extraction/search_postgres.py): what the search still costs an insert. (Until issue 19.4 the
  trigram GIN indexes were on extraction_events itself: 45 % of the inserter's time.)
- inserter-no-fk / inserter-unindexed (PostgreSQL only): the inserter with the events' foreign
  keys dropped (PostgreSQL checks each row's session, group … by a lookup), or every index but
  the unique ones (id, (session, seq)): what each costs an insert.
- bulk_create (batch 100 / 1,000): the Django peer, ExtractionEvent objects built from the same
  rows, `bulk_create(ignore_conflicts=True)`; it does not link code blocks (a little less work).
- engine (SQLite only): SQLite's own share, the floor for any Python writer. The same INSERTs
  with their parameters built before the clock starts, straight on the sqlite3 connection.
- engine-unindexed (SQLite only): the same with every index but the unique (session, seq)
  dropped: what the query indexes cost each insert.

Targets (issue 19.4): ≥ 40,000 events/s into SQLite with the API's indexes, ≥ 80,000 events/s
into PostgreSQL through COPY. The connection is set up as the tap's writer sets up its own
(sessions.persistence.tune_writer_connection).
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import PG_ADMIN_URL, PYTHON, ROOT, clean_env, generated_input, loadavg  # noqa: E402

TARGET_SQLITE = 40_000
TARGET_POSTGRES = 80_000
METHODS = (
    "inserter",
    "inserter-executemany",
    "inserter-copy-text",
    "inserter-no-backlog",
    "inserter-no-fk",
    "inserter-unindexed",
    "bulk_create",
    "engine",
    "engine-unindexed",
)
ENGINE_METHODS = ("engine", "engine-unindexed")
POSTGRES_METHODS = (
    "inserter-executemany",
    "inserter-copy-text",
    "inserter-no-backlog",
    "inserter-no-fk",
    "inserter-unindexed",
)
BATCHES = (100, 1000)
# What each PostgreSQL variant takes away before the clock starts (the last statement may
# return further statements to run).
POSTGRES_VARIANTS = {
    "inserter-no-backlog": [
        "DROP TRIGGER IF EXISTS extraction_events_search_added ON extraction_events"
    ],
    "inserter-no-fk": [
        "SELECT format('ALTER TABLE extraction_events DROP CONSTRAINT %I', conname) "
        "FROM pg_constraint WHERE conrelid = 'extraction_events'::regclass AND contype = 'f'"
    ],
    "inserter-unindexed": [
        "SELECT format('DROP INDEX %I', indexname) FROM pg_indexes "
        "WHERE tablename = 'extraction_events' AND indexdef NOT LIKE 'CREATE UNIQUE%'"
    ],
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument(
        "--worker", nargs=3, metavar=("BACKEND", "METHOD", "BATCH"), help=argparse.SUPPRESS
    )
    return parser.parse_args()


# ------------------------------------------------------------------ worker (one measurement)


def build_rows(n: int) -> list[dict]:
    """n event rows exactly as the tap's extraction process hands them to the writer."""
    from extraction.engine import Extractor
    from sessions.pipeline import Pipeline

    rows: list[dict] = []
    # The pipeline hands rows over one at a time (on_event) or a chunk's worth at once (on_events).
    params = inspect.signature(Pipeline).parameters
    hook = {"on_events": rows.extend} if "on_events" in params else {"on_event": rows.append}
    pipeline = Pipeline(agent_name="bench", started_at=time.time(), extractor=Extractor(), **hook)
    text = generated_input(200_000).read_text(encoding="utf-8")
    for i in range(0, len(text), 65536):
        pipeline.feed(i / 1e6, text[i : i + 65536])
    pipeline.close()
    try:
        from extraction.engine.fingerprint import Fingerprints
    except ImportError:  # an older tree: its writer fingerprints every row itself
        pass
    else:
        # The tap's extraction process marks the rows it hands over (run_extraction): its
        # writer never normalises a message, and neither does this one.
        Fingerprints().mark(rows)
    base = list(rows)
    while len(rows) < n:
        for row in base[: n - len(rows)]:
            rows.append({**row, "metadata": dict(row["metadata"]), "seq": len(rows) + 1})
    return rows[:n]


def worker(backend: str, method: str, batch: int, n: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from extraction.models import ExtractionEvent
    from sessions.models import ProcessSession
    from sessions.persistence import EventInserter

    call_command("migrate", verbosity=0)
    # The tap's writer connection is set up so (every method gets it: a fair comparison).
    connection.ensure_connection()
    try:
        from sessions.persistence import tune_writer_connection
    except ImportError:  # an older tree: SQLite's page cache only
        if connection.vendor == "sqlite":
            from sessions.persistence import WRITER_CACHE_KIB

            connection.connection.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    else:
        tune_writer_connection(connection.connection, connection.vendor)
    rows = build_rows(n)
    session = ProcessSession.start("bench", command_line="bench_persist")
    if method in ENGINE_METHODS:
        return engine_worker(method, session.pk, rows, batch)
    if method in POSTGRES_VARIANTS:
        with connection.cursor() as cursor:
            for sql in POSTGRES_VARIANTS[method]:
                cursor.execute(sql)
            for (sql,) in cursor.fetchall() if cursor.description else []:
                cursor.execute(sql)
    if not method.startswith("inserter"):
        # bulk_create's objects take model fields only: a row's fingerprint is for the
        # inserter's error groups, which bulk_create does not write.
        rows = [{k: v for k, v in row.items() if k != "fingerprint"} for row in rows]
    started, cpu = time.perf_counter(), time.process_time()
    if method.startswith("inserter"):
        inserter = EventInserter()
        if method == "inserter-executemany":
            inserter.copy_min_rows = None
        elif method == "inserter-copy-text":
            inserter.copy_min_rows, inserter.copy_binary = 1, False
        for i in range(0, n, batch):
            with transaction.atomic():
                inserter.insert(session.pk, rows[i : i + batch])
    else:
        for i in range(0, n, batch):
            objs = [ExtractionEvent(session_id=session.pk, **row) for row in rows[i : i + batch]]
            with transaction.atomic():
                ExtractionEvent.objects.bulk_create(objs, batch_size=batch, ignore_conflicts=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stored = ExtractionEvent.objects.filter(session=session).count()
    journal = ""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
    connection.close()
    return {"seconds": elapsed, "cpu": cpu, "stored": stored, "journal": journal}


def engine_worker(method: str, session_pk: int, rows: list[dict], batch: int) -> dict:
    """SQLite alone: the tap's INSERTs, parameters prepared beforehand, one commit per batch."""
    from django.db import connection

    from sessions.persistence import EventInserter

    inserter = EventInserter()
    statements = []
    for i in range(0, len(rows), batch):
        sql, params = inserter.statement(session_pk, rows[i : i + batch])
        statements.append((sql.replace("%s", "?"), params))
    connection.ensure_connection()
    raw = connection.connection  # the sqlite3.Connection, with the writer's pragmas
    if method == "engine-unindexed":
        names = raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'extraction_events' "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
        ).fetchall()
        for (name,) in names:
            raw.execute(f'DROP INDEX "{name}"')
    started, cpu = time.perf_counter(), time.process_time()
    for sql, params in statements:
        # Django keeps the connection in autocommit mode: one explicit transaction per batch.
        raw.execute("BEGIN")
        raw.executemany(sql, params)
        raw.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    (stored,) = raw.execute(
        "SELECT COUNT(*) FROM extraction_events WHERE session_id = ?", [session_pk]
    ).fetchone()
    (journal,) = raw.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    return {"seconds": elapsed, "cpu": cpu, "stored": stored, "journal": journal}


# ------------------------------------------------------------------ orchestration


def run_one(backend: str, method: str, batch: int, n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="streamtap-bench-persist-") as data:
        env = clean_env(STREAMTAP_DATA_DIR=data)
        dbname = ""
        if backend == "postgres":
            dbname = f"streamtap_bench_{uuid.uuid4().hex[:10]}"
            psql(f'CREATE DATABASE "{dbname}"')
            env["DATABASE_URL"] = f"{PG_ADMIN_URL.rstrip('/')}/{dbname}"
        try:
            proc = subprocess.run(
                [PYTHON, __file__, "--events", str(n), "--worker", backend, method, str(batch)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=900,
            )
        finally:
            if dbname:
                psql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    if proc.returncode != 0:
        raise RuntimeError(f"{backend}/{method}/{batch} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    args = parse_args()
    if args.worker:
        backend, method, batch = args.worker
        print(json.dumps(worker(backend, method, int(batch), args.events)))
        return
    backends = [b for b in args.backends.split(",") if b]
    methods = [m for m in args.methods.split(",") if m]
    batches = [int(b) for b in args.batches.split(",") if b]
    generated_input(200_000)
    print(
        f"{args.events:,} event rows per measurement; load average at start {loadavg()}", flush=True
    )
    results = []
    for backend in backends:
        if backend == "postgres":
            try:
                psql("SELECT 1")
            except Exception as exc:
                print(f"postgres: skipped ({exc})")
                continue
        for method in methods:
            if method in ENGINE_METHODS and backend != "sqlite":
                continue
            if method in POSTGRES_METHODS and backend != "postgres":
                continue
            for batch in batches:
                r = run_one(backend, method, batch, args.events)
                r.update(backend=backend, method=method, batch=batch)
                results.append(r)
                print(
                    f"  {backend:<8} {method:<20} batch {batch:>5}: "
                    f"{args.events / r['seconds']:>9,.0f} events/s, "
                    f"{args.events / r['cpu']:>9,.0f} per CPU-s "
                    f"({r['seconds']:.2f} s, {r['stored']:,} stored)",
                    flush=True,
                )
    print(f"\n## Persistence, {args.events:,} events (load {loadavg()} at end)\n")
    # CPU time (this process only, not PostgreSQL's server) is the steadier figure on a busy
    # machine; the target is about wall time.
    print(
        "| backend | method | batch | events/s | events/CPU-s | seconds | stored "
        "| vs bulk_create (same batch) | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    peers = {(r["backend"], r["batch"]): r for r in results if r["method"] == "bulk_create"}
    for r in results:
        rate = args.events / r["seconds"]
        peer = peers.get((r["backend"], r["batch"]))
        ratio = (
            f"{peer['seconds'] / r['seconds']:.2f}×"
            if peer and r["method"] != "bulk_create"
            else "–"
        )
        target = ""
        if r["method"] == "inserter":
            goal = TARGET_SQLITE if r["backend"] == "sqlite" else TARGET_POSTGRES
            target = f"≥ {goal:,} {'✓' if rate >= goal else '✗'}"
        backend = f"{r['backend']} ({r['journal']})" if r.get("journal") else r["backend"]
        print(
            f"| {backend} | {r['method']} | {r['batch']:,} | {rate:,.0f} | {args.events / r['cpu']:,.0f} | "
            f"{r['seconds']:.2f} | {r['stored']:,} | {ratio} | {target} |"
        )


if __name__ == "__main__":
    main()
