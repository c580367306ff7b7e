"""Issue 15 row 6: the disk fills during a tap.

The data dir is a real, small tmpfs. The program must run to its end untouched (all 30,000
lines reach the terminal, its exit code is kept); the tap stops recording (and spilling), says
so once on stderr and in a state change, and `recover` restores what was written.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sessions.models import ProcessSession

from .conftest import ROOT, py, run_tap

LINES = 30_000
CHILD = py(
    "import sys\n"
    f"for i in range({LINES}):\n"
    "    print(f'ERROR: line {i:05d} went wrong' if i % 10 == 0 else f'line {i:05d} plain text')\n"
    "sys.exit(3)\n"
)
EXPECTED_OUTPUT = b"".join(
    (f"ERROR: line {i:05d} went wrong\n" if i % 10 == 0 else f"line {i:05d} plain text\n").encode()
    for i in range(LINES)
)


def mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {result.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB file system: about half of what this program's recording needs."""
    folder = tmp_path / "small-disk"
    mount_tmpfs(folder, "512k")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def recording_of(session: ProcessSession) -> Path:
    return Path(session.recording_path)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_full_disk_stops_the_recording_not_the_program(tap_env, small_disk):
    env = {**tap_env, "STREAMTAP_DATA_DIR": str(small_disk)}
    result = run_tap(env, "--pipe", "--", *CHILD, timeout=300)

    assert result.returncode == 3  # the program's own exit code
    assert result.stdout == EXPECTED_OUTPUT  # every line reached the terminal, unchanged
    stderr = result.stderr.decode()
    assert stderr.count("recording stopped (No space left on device)") == 1, stderr
    assert "Traceback" not in stderr
    session = ProcessSession.objects.get()
    assert session.status == "failed" and session.exit_code == 3
    states = [c.state for c in session.state_changes.all()]
    assert states.count("recording_stopped") == 1 and states[-1] == "failed"
    # The database is elsewhere: every event is there although the recording stopped.
    assert session.events.count() == LINES // 10
    # What was written before the disk filled is a readable recording.
    from sessions.recording import iter_events

    written = "".join(e.data for e in iter_events(recording_of(session)) if e.code == "o")
    assert 0 < len(written) < len(EXPECTED_OUTPUT)
    assert EXPECTED_OUTPUT.decode().startswith(written[: written.rfind("\n") + 1])


def migrated_sqlite(folder: Path, env: dict) -> str:
    """A migrated SQLite database inside ``folder``, for a tap whose whole data dir is full."""
    template = folder.parent / f"template-{uuid.uuid4().hex}.sqlite3"
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"],
        env={**env, "DATABASE_URL": f"sqlite:///{template}"},
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    target = folder / "streamtap.sqlite3"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@pytest.mark.slow
def test_with_the_database_on_the_full_disk_too_recover_restores_what_was_recorded(
    tmp_path, tap_env_without_database
):
    disk = tmp_path / "small-disk"
    mount_tmpfs(disk, "3m")
    try:
        env = {**tap_env_without_database, "STREAMTAP_DATA_DIR": str(disk)}
        env["DATABASE_URL"] = migrated_sqlite(disk, env)
        result = run_tap(env, "--pipe", "--", *CHILD, timeout=300)

        assert result.returncode == 3
        assert result.stdout == EXPECTED_OUTPUT
        stderr = result.stderr.decode()
        assert "Traceback" not in stderr, stderr
        # Whether the spill file still fits depends on how far the database got before the
        # disk filled: either it is written whole, or it is refused once and nothing is left.
        spills = list((disk / "spill").glob("*.spill.jsonl"))
        spill_refused = "could not write the spill file (No space left on device)"
        if spill_refused in stderr:
            assert stderr.count(spill_refused) == 1
            assert not spills  # no half-written spill left
        else:
            assert len(spills) == 1 and "load with `manage.py recover`" in stderr

        # Space is freed; recover rebuilds the session from its recording.
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        recover = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "recover", "--stale-minutes", "0"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert recover.returncode == 0, recover.stderr
        if spills:
            assert "loaded spill" in recover.stdout
        else:
            assert "restored from the recording" in recover.stdout
        count = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "--no-imports", "-c",
             "from extraction.models import ExtractionEvent as E; print(E.objects.count())"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert int(count.stdout.strip().splitlines()[-1]) == LINES // 10
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def tap_env_without_database(tmp_path):
    import os

    env = dict(os.environ)
    env.update(STREAMTAP_SERVER_URL="http://127.0.0.1:9", PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    return env
