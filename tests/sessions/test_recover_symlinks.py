"""Issue 15 row 16: `recover` does not follow symbolic links out of the recordings and spill
folders (a link planted there would make it read, and show every user, a file from elsewhere)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sessions.models import ProcessSession

from .conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def write_cast(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"version": 2, "width": 80, "height": 24, "timestamp": 1700000000}
    path.write_text(json.dumps(header) + "\n" + json.dumps([0.1, "o", text]) + "\n")


def run_recover(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "recover"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_recover_skips_recordings_linked_from_outside_and_adopts_real_orphans(tap_env, tmp_path):
    outside = tmp_path / "elsewhere"
    write_cast(outside / "private.cast", "ERROR: another user's private output\n")
    recordings = tmp_path / "data" / "recordings"
    write_cast(recordings / "2026" / "01" / "01" / "real-20260101-000000-1.cast", "ERROR: ours\n")
    (recordings / "linked-20260101-000000-2.cast").symlink_to(outside / "private.cast")
    (recordings / "linked_dir").symlink_to(outside, target_is_directory=True)

    result = run_recover(tap_env)

    assert result.returncode == 0, result.stderr
    assert "symbolic link" in result.stderr and "linked-20260101-000000-2.cast" in result.stderr
    (adopted,) = ProcessSession.objects.all()
    assert adopted.recording_path.endswith("real-20260101-000000-1.cast")
    assert not any("private" in e.content for e in adopted.events.all())


def test_recover_skips_a_spill_file_linked_from_outside(tap_env, tmp_path):
    outside = tmp_path / "elsewhere.spill.jsonl"
    outside.write_text('{"not": "ours"}\n')
    spill = tmp_path / "data" / "spill"
    spill.mkdir(parents=True)
    (spill / "x.spill.jsonl").symlink_to(outside)

    result = run_recover(tap_env)

    assert "skipped" in result.stderr and "symbolic link" in result.stderr
    assert outside.read_text() == '{"not": "ours"}\n'  # neither read into a session nor renamed
    assert (spill / "x.spill.jsonl").is_symlink()
