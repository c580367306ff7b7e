"""A real daphne on the test database, and the users an attacker and a tap would hold.

The server is another process: it reads what the test writes (transactional tests), and every
request goes over a real socket. With DATABASE_URL/STREAMTAP_REDIS_URL set (PostgreSQL +
Redis), the server uses them too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission

from tests.factories import make_token, make_user
from tests.sessions.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@dataclass
class Daphne:
    process: subprocess.Popen
    port: int
    data_dir: Path
    env: dict

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.base_url

    def log(self) -> str:
        return (self.data_dir / "daphne.log").read_text(errors="replace")


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


def start_daphne(data_dir: Path, **extra_env: str) -> Daphne:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(data_dir, **extra_env)
    log = open(data_dir / "daphne.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        + ["streamtap_site.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Daphne(process, port, data_dir, env)

    def answers() -> bool:
        assert process.poll() is None, server.log()
        try:
            with urllib.request.urlopen(f"{server.base_url}/login/", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    wait_for(answers, 30, "daphne to answer")
    return server


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):
    server = start_daphne(tmp_path_factory.mktemp("daphne"))
    yield server
    stop(server.process)


@pytest.fixture
def tap_token(transactional_db) -> str:
    """A token allowed to ingest (not staff: granted the permission)."""
    user = make_user("tap-host")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="extraction", codename="add_extractionevent")
    )
    return make_token(user)


@pytest.fixture
def plain_token(transactional_db) -> str:
    """An ordinary user's token: may read the dashboard's data, not write sessions."""
    return make_token(make_user("olivia"))
