"""Where the PostgreSQL writer's time goes: the client, the server, and each statement.

    .venv/bin/python bench/profile_persist_postgres.py [--events 100000] [--batch 1000]

bench_persist.py gives the PostgreSQL inserter's events/s; this names what that time is made
of (issue 19.4: a missed target names its remaining cost with a profile). The same rows and
EventInserter as bench_persist's `inserter` line, into a scratch database (created from
STREAMTAP_BENCH_PG, dropped after), one transaction per batch:

- the wall time split between this process's CPU and the server backend's CPU (read from
  /proc/<pid>/stat of the connection's backend, so it needs the server on this machine);
- each statement kind's wall time (Django's execute wrapper; the COPY, which goes through
  psycopg's own cursor, timed around its call), and the commits (where PostgreSQL checks the
  foreign keys: Django declares them DEFERRABLE INITIALLY DEFERRED).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    PG_ADMIN_URL,
    PYTHON,
    ROOT,
    clean_env,
    generated_input,
    loadavg,
    process_cpu,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def statement_kind(sql: str) -> str:
    head = " ".join(sql.split())[:60]
    for needle, kind in (
        ("SELECT seq FROM extraction_events", "already stored? (SELECT seq)"),
        ("INSERT INTO code_blocks", "code blocks' upsert"),
        ("SELECT sha256, id FROM code_blocks", "code blocks' ids"),
        ("INSERT INTO error_groups", "groups' upsert"),
        ("SELECT g.id, g.fingerprint", "groups' lookup"),
        ("INSERT INTO error_group_sessions", "groups' session links"),
        ("UPDATE error_groups SET session_count", "groups' session counts"),
        ("UPDATE error_groups SET representative_id", "groups' representatives"),
        ("SAVEPOINT", "the savepoint around the COPY"),
        ("RELEASE SAVEPOINT", "the savepoint around the COPY"),
    ):
        if needle in head:
            return kind
    return head


def worker(events: int, batch: int) -> None:
    import django

    django.setup()
    import bench_persist
    from django.core.management import call_command
    from django.db import connection, transaction

    from sessions.models import ProcessSession
    from sessions.persistence import EventInserter, tune_writer_connection

    call_command("migrate", verbosity=0)
    connection.ensure_connection()
    tune_writer_connection(connection.connection, connection.vendor)
    rows = bench_persist.build_rows(events)
    session = ProcessSession.start("bench", command_line="profile_persist_postgres")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]

    spent: dict[str, float] = defaultdict(float)

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[statement_kind(sql)] += time.perf_counter() - started

    inserter = EventInserter()
    copy = inserter._copy

    def timed_copy(cursor, session_pk, batch_rows):
        # psycopg's own cursor, outside Django's execute wrapper.
        started = time.perf_counter()
        copy(cursor, session_pk, batch_rows)
        spent["COPY into extraction_events (and its rows' values)"] += time.perf_counter() - started

    inserter._copy = timed_copy
    wall, cpu, server = time.perf_counter(), time.process_time(), process_cpu(backend_pid)
    commits = 0.0
    with connection.execute_wrapper(timed):
        for i in range(0, events, batch):
            with transaction.atomic():
                inserter.insert(session.pk, rows[i : i + batch])
                committing = time.perf_counter()
            commits += time.perf_counter() - committing
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    server = process_cpu(backend_pid) - server
    spent["commits"] = commits

    print(f"{events:,} events in batches of {batch:,}: {wall:.2f} s wall, {events / wall:,.0f}/s")
    print(
        f"  CPU: this process {cpu:.2f} s ({events / cpu:,.0f} events per CPU-s), "
        f"the server's backend {server:.2f} s ({events / server:,.0f} per CPU-s); "
        f"together {cpu + server:.2f} s on {os.cpu_count()} cores"
    )
    print("\n| step | wall s | share of the wall |")
    print("|---|---:|---:|")
    accounted = 0.0
    for kind, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        accounted += seconds
        print(f"| {kind} | {seconds:.2f} | {seconds / wall:.0%} |")
    rest = wall - accounted
    print(f"| the rest (Python: grouping, parameters, links) | {rest:.2f} | {rest / wall:.0%} |")


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.events, args.batch)
        return
    from bench_persist import psql

    generated_input(200_000)
    print(f"load average at start {loadavg()}", flush=True)
    dbname = f"streamtap_profile_{uuid.uuid4().hex[:10]}"
    psql(f'CREATE DATABASE "{dbname}"')
    try:
        env = clean_env(DATABASE_URL=f"{PG_ADMIN_URL.rstrip('/')}/{dbname}")
        argv = [PYTHON, __file__, "--worker", "--events", str(args.events)]
        subprocess.run([*argv, "--batch", str(args.batch)], env=env, cwd=ROOT, check=True)
    finally:
        psql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(f"\nload average at end {loadavg()}")


if __name__ == "__main__":
    main()
