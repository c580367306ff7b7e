"""A real daphne on the test database, and the users an attacker and a tap would hold.

The server is another process: it reads what the test writes (transactional tests), and every
request goes over a real socket. With DATABASE_URL/STREAMTAP_REDIS_URL set (PostgreSQL +
Redis), the server uses them too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.conftest import LiveServer, free_port
from tests.factories import make_token, make_user
from tests.sessions.conftest import database_url
from tests.sessions.helpers import make_ingest_token

ROOT = Path(__file__).resolve().parents[2]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def server_env(data_dir: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        # The test's key: logins made here (session cookies) and tap signatures are valid there.
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        STREAMTAP_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def start_daphne(data_dir: Path, **extra_env: str) -> LiveServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    server = LiveServer(data_dir=data_dir, port=free_port(), env=server_env(data_dir, **extra_env))
    server.start()
    return server


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):
    server = start_daphne(tmp_path_factory.mktemp("daphne"))
    yield server
    server.stop()


@pytest.fixture
def tap_token(transactional_db) -> str:
    """A token allowed to ingest (not staff: granted the permission)."""
    return make_ingest_token()


@pytest.fixture
def plain_token(transactional_db) -> str:
    """An ordinary user's token: may read the dashboard's data, not write sessions."""
    return make_token(make_user("olivia"))
