"""Issue 15 row 16: under lock contention a tap's retries stay off the user's terminal.

Another client holds SQLite's write lock for longer than the tap's busy timeout (cut to 0.3 s
here), so the tap's writes fail with "database is locked" and are retried. The user sees the
program's output and nothing from streamtap; every event is stored once the lock is gone.
"""

from __future__ import annotations

import pytest
from django.db import connection

from sessions.models import ProcessSession

from .helpers import tap_errors_while_locked

pytestmark = pytest.mark.django_db(transaction=True)


def test_lock_retries_are_silent_and_lose_nothing(tap_env):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL writers wait on a held lock instead of failing")
    env = {**tap_env, "STREAMTAP_SQLITE_TIMEOUT": "0.3"}
    code = "import time\nfor i in range(20): print(f'ERROR: e{i}', flush=True); time.sleep(0.1)"
    # The program runs to its end while nothing can be written; the lock outlives it by a
    # second, so its final writes are retried too.
    err = tap_errors_while_locked(env, code, lines=20, linger=1.0)
    assert b"locked" not in err and b"unavailable" not in err, err
    session = ProcessSession.objects.get()
    assert session.events.count() == 20 and session.status == "completed"
