"""Issue 15 row 16: under lock contention a tap's retries stay off the user's terminal.

Another client holds SQLite's write lock for longer than the tap's busy timeout (cut to 0.3 s
here), so the tap's writes fail with "database is locked" and are retried. The user sees the
program's output and nothing from streamtap; every event is stored once the lock is gone.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from django.db import connection

from sessions.models import ProcessSession

from .conftest import ROOT, py, tap_argv
from .test_tap_command import hold_database_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_lock_retries_are_silent_and_lose_nothing(tap_env):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL writers wait on a held lock instead of failing")
    env = {**tap_env, "STREAMTAP_SQLITE_TIMEOUT": "0.3"}
    db = hold_database_lock()
    code = "import time\nfor i in range(20): print(f'ERROR: e{i}', flush=True); time.sleep(0.1)"
    proc = subprocess.Popen(
        tap_argv("--batch-seconds", "0.2", "--", *py(code)),
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The program runs to its end while nothing can be written.
        lines = [proc.stdout.readline() for _ in range(20)]
        assert lines == [f"ERROR: e{i}\n".encode() for i in range(20)]
        time.sleep(1.0)  # the lock outlives the program: its final writes are retried too
    finally:
        db.rollback()
        db.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"locked" not in err and b"unavailable" not in err, err
    session = ProcessSession.objects.get()
    assert session.events.count() == 20 and session.status == "completed"
