"""A tap on a host without database credentials: only the server URL and an API token."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def remote_env(server, tmp_path) -> dict:
    env = dict(server.env)
    # This "host" has no usable database: anything that touched it would fail loudly.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/no-such-dir/none.sqlite3"
    env["STREAMTAP_DATA_DIR"] = str(tmp_path / "remote-host")
    return env


def server_json(server, code: str):
    return json.loads(server.shell(code).strip())


def test_remote_tap_stores_everything_through_the_api(live_server_proc, tmp_path):
    server = live_server_proc
    token = server.manage("create_token", server.username).stdout.strip()
    child = (
        "for i in range(250):\n"
        "    print(f'ERROR: remote failure {i}')\n"
        "print('```sh'); print('make deploy'); print('```')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "tap",
            "--agent",
            "far-away",
            "--server",
            server.base_url,
            "--token",
            token,
            "--batch-size",
            "100",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        cwd=ROOT,
        env=remote_env(server, tmp_path),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"remote failure") == 250
    stored = server_json(
        server,
        (
            "import json\n"
            "from sessions.models import ProcessSession as S\n"
            "s = S.objects.filter(agent_name='far-away').get()\n"
            "print(json.dumps({'status': s.status, 'events': s.events.count(), "
            "'seqs': sorted(s.events.values_list('seq', flat=True)), 'counts': s.event_counts, "
            "'lines': s.total_lines_processed}))"
        ),
    )
    assert stored["status"] == "completed"
    assert stored["events"] == 251
    assert stored["seqs"] == list(range(1, 252))
    assert stored["counts"] == {"error": 250, "code_block": 1}
    assert stored["lines"] == 253


def test_ingest_needs_a_token_that_may_ingest(live_server_proc):
    server = live_server_proc
    request = urllib.request.Request(
        f"{server.base_url}/api/ingest/batch",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(request, timeout=10)
    assert anonymous.value.code == 401
    server.shell(
        "from django.contrib.auth.models import User\nUser.objects.get_or_create(username='reader')"
    )
    token = server.manage("create_token", "reader").stdout.strip()
    request.add_header("Authorization", f"Token {token}")
    with pytest.raises(urllib.error.HTTPError) as reader:
        urllib.request.urlopen(request, timeout=10)
    assert reader.value.code == 403


def test_malformed_batches_get_a_400(live_server_proc):
    server = live_server_proc
    token = server.manage("create_token", server.username).stdout.strip()
    request = urllib.request.Request(
        f"{server.base_url}/api/ingest/batch",
        data=b'{"spec": {"agent_name": "x"}}',
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(request, timeout=10)
    assert bad.value.code == 400
    errors = json.loads(bad.value.read())["errors"]
    assert "term_cols" in errors["spec"] and "events" in errors


def test_a_remote_recording_path_is_never_a_local_file(live_server_proc):
    server = live_server_proc
    token = server.manage("create_token", server.username).stdout.strip()
    batch = {
        "spec": {
            "agent_name": "sneaky",
            "argv": ["x"],
            "command_line": "x",
            "cwd": "/",
            "host": "elsewhere",
            "pid": 1,
            "environment": {},
            "mode": "pipe",
            "term_cols": 80,
            "term_rows": 24,
            "recording_path": "/etc/passwd",
            "started_at": 1.0e9,
            "tap_pid": 2,
        },
        "events": [],
        "states": [],
        "stats": {},
    }
    request = urllib.request.Request(
        f"{server.base_url}/api/ingest/batch",
        data=json.dumps(batch).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        session_id = json.loads(response.read())["session_id"]
    stored = server.shell(
        "from sessions.models import ProcessSession as S\n"
        f"print(S.objects.get(session_id={session_id!r}).recording_path)"
    ).strip()
    assert stored == "remote://elsewhere/etc/passwd"
    export = urllib.request.Request(
        f"{server.base_url}/api/sessions/{session_id}/recording.cast",
        headers={"Authorization": f"Token {token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(export, timeout=10)
    assert missing.value.code == 404
