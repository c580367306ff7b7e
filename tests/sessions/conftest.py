"""Running the real `tap` command as a child process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database pytest-django set up, for other processes to use."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def tap_env(tmp_path, transactional_db):
    """Environment for a tap process: the test database, recordings under tmp_path."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        STREAMTAP_DATA_DIR=str(tmp_path / "data"),
        STREAMTAP_SERVER_URL="http://127.0.0.1:9",  # nothing listens: live push is off
        PYTHONUNBUFFERED="1",
    )
    # The secret key file lives in the data dir; share the test process's key.
    (tmp_path / "data").mkdir(exist_ok=True)
    return env


def tap_argv(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "tap", *args]


def run_tap(
    env: dict, *args: str, input: bytes | None = None, timeout: float = 60, **kwargs
) -> subprocess.CompletedProcess:
    return subprocess.run(
        tap_argv(*args),
        env=env,
        cwd=ROOT,
        input=input,
        capture_output=True,
        timeout=timeout,
        **kwargs,
    )


def py(code: str) -> list[str]:
    """argv running a snippet of Python in a fresh interpreter."""
    return [sys.executable, "-c", code]
