"""A tap on a database nobody has set up: `python manage.py tap -- pytest -x` is often the first
command a user runs, before `serve` (which migrates) ever has.

The tap's writer creates streamtap's tables itself and stores the session, instead of retrying a
write that cannot succeed until the program's end has waited out the whole finish budget.
Real taps, a real new SQLite file, or a new PostgreSQL database when the suite runs on one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from pathlib import Path

import pytest
from django.db import connection

from .conftest import py, run_tap

pytestmark = pytest.mark.django_db(transaction=True)

PROGRAM = py("print('building'); print('ERROR: the build failed')")


@contextlib.contextmanager
def new_database(tap_env: dict, tmp_path: Path):
    """(the tap's environment on an empty database, a function running SQL on it)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "new.sqlite3"

        def query(sql: str) -> list[tuple]:
            with contextlib.closing(sqlite3.connect(path)) as db:
                cursor = db.execute(sql)
                return cursor.fetchall() if cursor.description else []

        yield dict(tap_env, DATABASE_URL=f"sqlite:///{path}"), query
        return
    import psycopg

    s = connection.settings_dict
    server = {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "user": s["USER"] or "postgres",
    }
    name = f"streamtap_new_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def query(sql: str) -> list[tuple]:
        with psycopg.connect(**server, dbname=name) as db:
            cursor = db.execute(sql)
            return cursor.fetchall() if cursor.description else []

    url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    try:
        yield dict(tap_env, DATABASE_URL=url), query
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_first_tap_on_a_new_database_creates_its_tables_and_stores_the_session(
    tap_env, tmp_path
):
    with new_database(tap_env, tmp_path) as (env, query):
        result = run_tap(env, "--pipe", "--", *PROGRAM)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        assert result.stdout == b"building\nERROR: the build failed\n"
        stderr = result.stderr.decode()
        assert "lacked streamtap's tables; ran `manage.py migrate`" in stderr
        assert "unavailable" not in stderr and "spilled" not in stderr
        assert query("SELECT status, exit_code, total_lines_processed FROM process_sessions") == [
            ("completed", 0, 2)
        ]
        assert query("SELECT seq, rule, content FROM extraction_events") == [
            (1, "log_error", "ERROR: the build failed")
        ]
        # Set up once: the next tap finds the tables and says nothing about them.
        again = run_tap(env, "--pipe", "--", *PROGRAM)
        assert again.returncode == 0
        assert b"migrate" not in again.stderr
        assert len(query("SELECT id FROM process_sessions")) == 2
    assert not (Path(tap_env["STREAMTAP_DATA_DIR"]) / "spill").exists()


def test_tables_still_missing_after_migrate_end_in_a_spill_not_a_loop(tap_env, tmp_path):
    """The migrations are recorded as applied, yet a table is gone: `migrate` has nothing to do.
    The writer migrates once, then backs off as for any outage, and the program's end spills
    what it holds for `recover`, saying why."""
    with new_database(tap_env, tmp_path) as (env, query):
        assert run_tap(env, "--pipe", "--", "true").returncode == 0
        cascade = "" if connection.vendor == "sqlite" else " CASCADE"
        query(f"DROP TABLE extraction_events{cascade}")
        assert "extraction_events" not in {
            name for (name,) in query(_TABLE_NAMES[connection.vendor])
        }
        result = run_tap(
            dict(env, STREAMTAP_FINISH_TIMEOUT="3"), "--pipe", "--", *PROGRAM, timeout=120
        )
    assert result.returncode == 0
    stderr = result.stderr.decode()
    # Migrated once (on SQLite `migrate` itself fails: its last step re-creates the search
    # index's triggers on the missing table), then the ordinary backoff, whose last error says
    # what was tried.
    assert stderr.count("ran `manage.py migrate`") + stderr.count("migrate` failed") == 1, stderr
    assert "(even after `manage.py migrate`)" in stderr
    assert "spilled to" in stderr
    spills = list((Path(tap_env["STREAMTAP_DATA_DIR"]) / "spill").glob("*.spill.jsonl"))
    assert len(spills) == 1
    assert "ERROR: the build failed" in spills[0].read_text()


_TABLE_NAMES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
}
