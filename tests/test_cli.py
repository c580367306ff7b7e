"""The `streamtap` console command and the data directory it (not settings) makes.

Real processes throughout: the script pip installed into the venv, run from a folder that is
not the project, and the SQLite file it wrote read back with sqlite3.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from streamtap_site.data_dir import SECRET_KEY_FILE, ensure_data_dir

ROOT = Path(__file__).resolve().parents[1]
STREAMTAP = Path(sys.executable).with_name("streamtap")


def streamtap_env(data_dir: Path | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # The child's own SQLite file in its data dir, whatever database this run uses.
        if k
        not in (
            "DATABASE_URL",
            "STREAMTAP_REDIS_URL",
            "DJANGO_SECRET_KEY",
            "DJANGO_SETTINGS_MODULE",
        )
    }
    env.pop("STREAMTAP_DATA_DIR", None)
    if data_dir is not None:
        env["STREAMTAP_DATA_DIR"] = str(data_dir)
    env["STREAMTAP_SERVER_URL"] = "http://127.0.0.1:9"  # nothing listens: live push is off
    return env


def streamtap(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    assert STREAMTAP.exists(), f"{STREAMTAP} is missing: `make setup` installs it"
    return subprocess.run(
        [str(STREAMTAP), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def python(code: str, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A data directory migrated once (the SQLite file the taps below write)."""
    data = tmp_path_factory.mktemp("cli") / "data"
    migrated = streamtap("migrate", "-v", "0", cwd=data.parent, env=streamtap_env(data))
    assert migrated.returncode == 0, migrated.stderr
    return data


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder that is not the project: where a user taps their own program."""
    folder = tmp_path / "some-other-project"
    folder.mkdir()
    return folder


def test_streamtap_tap_from_another_folder_stores_the_session_in_the_data_dir(data, elsewhere):
    env = streamtap_env(data)

    tapped = streamtap(
        "tap", "--pipe", "--no-live", "--", "echo", "hi from", "elsewhere", cwd=elsewhere, env=env
    )

    assert tapped.returncode == 0, tapped.stderr
    assert tapped.stdout.splitlines()[0] == "hi from elsewhere"
    with sqlite3.connect(data / "streamtap.sqlite3") as db:
        rows = db.execute(
            "SELECT agent_name, command_line, cwd, status, exit_code, recording_path"
            " FROM process_sessions WHERE cwd = ?",
            [str(elsewhere)],
        ).fetchall()
    ((agent, command, cwd, status, exit_code, recording),) = rows
    assert (agent, command, cwd, status, exit_code) == (
        "echo",
        "echo 'hi from' elsewhere",
        str(elsewhere),
        "completed",
        0,
    )
    assert Path(recording).is_relative_to(data) and Path(recording).exists()
    assert list(elsewhere.iterdir()) == []  # nothing written where the user stood


@pytest.mark.parametrize("users_settings", [None, "their_project.settings"])
def test_a_tapped_program_gets_the_users_django_settings_variable_not_streamtaps(
    data, elsewhere, users_settings
):
    # `streamtap tap -- pytest` inside another Django project: streamtap runs on its own
    # settings, and the project's tests still find theirs.
    env = streamtap_env(data)
    if users_settings:
        env["DJANGO_SETTINGS_MODULE"] = users_settings
    show = "import os; print(os.environ.get('DJANGO_SETTINGS_MODULE'))"

    tapped = streamtap("tap", "--pipe", "--no-live", "--", sys.executable, "-c", show,
                       cwd=elsewhere, env=env)  # fmt: skip

    assert tapped.returncode == 0, tapped.stderr
    assert tapped.stdout.splitlines()[0] == str(users_settings)


def test_streamtap_help_lists_the_management_commands(elsewhere):
    result = streamtap("--help", cwd=elsewhere, env=streamtap_env(None))

    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"tap", "serve", "extract", "recover", "import_cast", "export_cast"} <= listed


def test_without_a_data_dir_setting_the_projects_data_dir_is_used_not_the_current_folder(
    elsewhere,
):
    code = "from django.conf import settings; print(settings.DATA_DIR)"
    result = streamtap("shell", "-v", "0", "-c", code, cwd=elsewhere, env=streamtap_env(None))

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == ROOT / "data"


def test_importing_settings_writes_nothing_and_ignores_the_command_line(tmp_path, elsewhere):
    missing = tmp_path / "not-made"
    code = (
        "import sys; sys.argv = ['manage.py', 'tap']\n"
        "import streamtap_site.settings as s\n"
        "print('daphne' in s.INSTALLED_APPS, repr(s.SECRET_KEY))"
    )
    result = python(code, cwd=elsewhere, env=streamtap_env(missing))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "''"]
    assert not missing.exists()


def test_the_tap_command_loads_without_daphnes_app(tmp_path, elsewhere):
    code = (
        "from streamtap_site.cli import prepare; prepare('tap')\n"
        "from django.conf import settings; print('daphne' in settings.INSTALLED_APPS)"
    )
    result = python(code, cwd=elsewhere, env=streamtap_env(tmp_path / "data"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_ensure_data_dir_makes_a_private_directory_with_one_lasting_secret_key(tmp_path):
    data = tmp_path / "data"

    ensure_data_dir(data)
    key = (data / SECRET_KEY_FILE).read_text()
    ensure_data_dir(data)

    assert (data / SECRET_KEY_FILE).read_text() == key and len(key) >= 50
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / SECRET_KEY_FILE).stat().st_mode) == 0o600
    assert sorted(p.name for p in data.iterdir()) == [SECRET_KEY_FILE, "staticfiles"]


def test_ensure_data_dir_closes_a_directory_others_could_read(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)

    ensure_data_dir(data)

    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def project_apps() -> list[str]:
    """The installed apps that are packages of this checkout (not Django's or a library's)."""
    from django.conf import settings

    names = {app.split(".")[0] for app in settings.INSTALLED_APPS}
    return sorted(name for name in names if (ROOT / name / "apps.py").exists())


def test_every_app_of_the_project_is_importable_from_another_folder(elsewhere):
    # The editable install lists its packages (pyproject.toml): an app left out of it imports
    # only where the project folder is on sys.path, so `streamtap serve` from elsewhere started a
    # daphne that could not load the settings' apps.
    apps = project_apps()
    assert {"sessions", "extraction", "output_search"} <= set(apps)
    result = python(f"import {', '.join(apps)}", cwd=elsewhere, env=streamtap_env(None))
    assert result.returncode == 0, result.stderr


def test_streamtap_serve_from_another_folder_serves_the_dashboard(tmp_path, elsewhere):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(STREAMTAP), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=streamtap_env(tmp_path / "data"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        said = []
        for line in server.stdout:
            said.append(line)
            if "streamtap is serving" in line or "Error" in line:
                break
        assert any("streamtap is serving" in line for line in said), "".join(said)
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert login.status == 200 and "/login" in login.url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
