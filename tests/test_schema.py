"""A database nobody has set up (streamtap_site/schema.py): `python manage.py tap -- pytest -x`,
`import_cast` or `recover` is often the first command a user runs, before `serve` (which
migrates) ever has. Each creates streamtap's tables itself and does its job; a database that is
away is one line saying so.

Real commands in their own processes, on a new SQLite file, or on a new PostgreSQL database when
the suite runs on one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import run_manage
from tests.sessions.conftest import py, run_tap


@pytest.fixture
def env(tmp_path) -> dict:
    return dict(
        os.environ,
        STREAMTAP_DATA_DIR=str(tmp_path / "data"),
        STREAMTAP_SERVER_URL="http://127.0.0.1:9",  # nothing listens: live push is off
    )


PROGRAM = py("print('building'); print('ERROR: the build failed')")


@contextlib.contextmanager
def new_database(env: dict, tmp_path: Path):
    """(the tap's environment on an empty database, a function running SQL on it)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "new.sqlite3"

        def query(sql: str) -> list[tuple]:
            with contextlib.closing(sqlite3.connect(path)) as db:
                return db.execute(sql).fetchall()

        yield dict(env, DATABASE_URL=f"sqlite:///{path}"), query
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
            return db.execute(sql).fetchall()

    url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    try:
        yield dict(env, DATABASE_URL=url), query
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A new database next to the one this run was given: `make test-pg` (`-m database`) runs these
# on PostgreSQL.
@pytest.mark.database
def test_the_first_tap_on_a_new_database_creates_its_tables_and_stores_the_session(env, tmp_path):
    with new_database(env, tmp_path) as (env, query):
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
    assert not (Path(env["STREAMTAP_DATA_DIR"]) / "spill").exists()


@pytest.mark.database
def test_import_cast_and_recover_on_a_new_database_create_its_tables_and_do_their_job(
    env, tmp_path
):
    log = tmp_path / "build.log"
    log.write_text("compiling\nERROR: the build failed\nWARNING: 3 tests skipped\n")
    with new_database(env, tmp_path) as (env, query):
        imported = run_manage(env, "import_cast", str(log))
        assert imported.returncode == 0, imported.stderr.decode()[-2000:]
        assert b"3 lines, 2 events" in imported.stdout
        assert b"lacked streamtap's tables; ran `manage.py migrate`" in imported.stderr
        assert query("SELECT rule, content FROM extraction_events ORDER BY seq") == [
            ("log_error", "ERROR: the build failed"),
            ("log_error", "WARNING: 3 tests skipped"),
        ]
        recovered = run_manage(env, "recover")
        assert recovered.returncode == 0, recovered.stderr.decode()[-2000:]
        assert b"migrate" not in recovered.stderr


@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent/streamtap/db.sqlite3", "postgres://postgres@127.0.0.1:9/streamtap"],
    ids=["sqlite-in-a-missing-folder", "postgres-nobody-listens"],
)
@pytest.mark.parametrize("command", [["recover"], ["serve", "--port", "9"]], ids=" ".join)
def test_a_command_on_a_database_that_cannot_be_used_says_so_in_one_line(env, url, command):
    result = run_manage(dict(env, DATABASE_URL=url), *command)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert stderr.startswith("CommandError: the database "), stderr
    assert "cannot be used:" in stderr
    assert "Traceback" not in stderr
