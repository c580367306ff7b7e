"""What several session tests share: a tap left running or run with prompts answered, what
`extract` finds in a recording, a database whose write lock another client holds, an ingest token."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from pathlib import Path

from django.contrib.auth.models import Permission
from django.db import connection

from sessions.models import ProcessSession
from tests.factories import make_token, make_user
from tests.processes import run_manage

from .conftest import ROOT, py, run_tap, tap_argv


def start_tap(env: dict, *args: str, cwd: Path = ROOT, **popen) -> subprocess.Popen:
    """`manage.py tap *args` left running, its stdout and stderr in pipes (stdin: ``popen``'s,
    else the test's own)."""
    return subprocess.Popen(
        tap_argv(*args),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def extract_json(env: dict, recording_path: str, timeout: float = 60) -> list[dict]:
    """The events `extract --json` finds in a recording, one dict an event."""
    out = run_manage(env, "extract", "--json", recording_path, check=True, timeout=timeout)
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def only_session() -> ProcessSession:
    sessions = list(ProcessSession.objects.all())
    assert len(sessions) == 1, sessions
    return sessions[0]


def hold_database_lock():
    """Another client holding the write lock: SQLite's file lock, PostgreSQL's table locks."""
    if connection.vendor == "sqlite":
        db = sqlite3.connect(connection.settings_dict["NAME"], timeout=5)
        db.execute("BEGIN EXCLUSIVE")
        return db
    import psycopg

    s = connection.settings_dict
    db = psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"] or "postgres",
        dbname=s["NAME"],
    )
    db.execute("LOCK TABLE process_sessions, extraction_events IN ACCESS EXCLUSIVE MODE")
    return db


@contextlib.contextmanager
def database_locked():
    """The write lock held by another client (hold_database_lock) for the ``with`` block."""
    db = hold_database_lock()
    try:
        yield db
    finally:
        db.rollback()
        db.close()


def tap_errors_while_locked(env: dict, code: str, lines: int, linger: float = 0.0) -> bytes:
    """Tap ``code``, which prints ``ERROR: e0`` .. ``ERROR: e{lines-1}``, while the database is
    locked, and the tap's stderr once it has exited 0.

    Every line comes through while nothing at all can be written; the lock is released
    ``linger`` seconds after the last line (so the program's final writes may wait on it too).
    """
    with database_locked():
        proc = start_tap(env, "--batch-seconds", "0.2", "--", *py(code))
        printed = [proc.stdout.readline() for _ in range(lines)]
        assert printed == [f"ERROR: e{i}\n".encode() for i in range(lines)]
        time.sleep(linger)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    return err


def make_ingest_token(username: str = "tap-host") -> str:
    """A token allowed to ingest (not staff: granted the permission), as a tap host holds."""
    user = make_user(username)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="extraction", codename="add_extractionevent")
    )
    return make_token(user)


def run_pty_tap(
    env: dict,
    *args: str,
    auto_confirm: str | None = None,
    prompt_timeout: float | None = None,
    **kwargs,
) -> subprocess.CompletedProcess:
    """`tap --pty *args` run to its end with stdin closed: prompts answered by policy up to the
    ``auto_confirm`` risk, denied after ``prompt_timeout`` seconds, when given."""
    options = []
    if auto_confirm:
        options += ["--auto-confirm", auto_confirm]
    if prompt_timeout:
        options += ["--prompt-timeout", str(prompt_timeout)]
    return run_tap(env, "--pty", *options, *args, stdin=subprocess.DEVNULL, **kwargs)
