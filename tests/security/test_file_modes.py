"""Row 5 of issue 15: another local user can read nothing streamtap keeps.

Attacked as it was: the real commands (serve, a tap publishing to it, a remote tap whose
server is away and spills) on a fresh data directory, then every file and directory stat'ed.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from tests.processes import start_serve

from .conftest import ROOT, free_port, server_env

pytestmark = [pytest.mark.slow]


def manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        **kwargs,
    )


def modes(root) -> dict[str, int]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = stat.S_IMODE(os.lstat(path).st_mode)
    found["."] = stat.S_IMODE(os.stat(root).st_mode)
    return found


def test_every_file_streamtap_writes_is_the_users_alone(tmp_path):
    data = tmp_path / "data"  # does not exist yet: the commands make it
    env = server_env(data)
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "STREAMTAP_SERVER_URL"):
        env.pop(name, None)  # the key file and the SQLite files are what is looked at
    port = free_port()
    serve = start_serve(env, port)
    try:
        serve.wait_until_serving()
        tap = manage(
            env, "tap", "--agent", "modes", "--", sys.executable, "-c", "print('ERROR: x')"
        )
        assert tap.returncode == 0, tap.stderr
        remote = manage(
            {**env, "STREAMTAP_FINISH_TIMEOUT": "1"},
            "tap",
            "--server",
            "http://127.0.0.1:9",  # nothing listens: the batch is spilled
            "--token",
            "0" * 40,
            "--",
            sys.executable,
            "-c",
            "print('ERROR: y')",
        )
        assert remote.returncode == 0, remote.stderr
        found = modes(data)  # while serving: the -wal and -shm files exist
    finally:
        serve.stop()
    names = set(found)
    for expected in (".secret_key", "streamtap.sqlite3", "access.log", "server.json"):
        assert expected in names, sorted(names)
    assert {"streamtap.sqlite3-wal", "streamtap.sqlite3-shm"} <= names, sorted(names)
    assert any(n.startswith("recordings/") and n.endswith(".cast") for n in names), sorted(names)
    assert any(n.startswith("spill/") and n.endswith(".spill.jsonl") for n in names), sorted(names)
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert not wrong


@pytest.mark.django_db(transaction=True)
def test_a_tapped_program_keeps_the_users_umask(tmp_path):
    env = server_env(tmp_path / "data")
    env["STREAMTAP_SERVER_URL"] = "http://127.0.0.1:9"
    code = "import os; print('umask', oct(os.umask(0)))"
    result = manage(env, "tap", "--no-live", "--", sys.executable, "-c", code, umask=0o027)
    assert result.returncode == 0, result.stderr
    assert b"umask 0o27" in result.stdout
