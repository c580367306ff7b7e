"""`manage.py serve`: taps on the same data directory find the server on whatever port it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from sessions.live import DEFAULT_SERVER_URL, SERVER_FILE, server_url
from sessions.management.commands.serve import connect_url
from tests.processes import start_serve

from .conftest import py, run_tap


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8765"),
        ("0.0.0.0", "http://127.0.0.1:8765"),
        ("::", "http://127.0.0.1:8765"),
        ("::1", "http://[::1]:8765"),
        ("streamtap.internal", "http://streamtap.internal:8765"),
    ],
)
def test_taps_connect_to_the_address_the_server_listens_on(host, url):
    assert connect_url(host, 8765) == url


def test_a_tap_publishes_to_the_server_announced_in_its_data_directory(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.STREAMTAP = {**settings.STREAMTAP, "SERVER_URL": ""}
    assert server_url() == DEFAULT_SERVER_URL
    (tmp_path / SERVER_FILE).write_text(
        json.dumps({"url": "http://127.0.0.1:8765", "pid": os.getpid()})
    )
    assert server_url() == "http://127.0.0.1:8765"
    settings.STREAMTAP = {**settings.STREAMTAP, "SERVER_URL": "http://10.0.0.5:9000"}
    assert server_url() == "http://10.0.0.5:9000"  # STREAMTAP_SERVER_URL wins


def test_a_server_that_died_is_not_announced_any_more(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.STREAMTAP = {**settings.STREAMTAP, "SERVER_URL": ""}
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    dead_pid = int(gone.stdout)
    (tmp_path / SERVER_FILE).write_text(
        json.dumps({"url": "http://127.0.0.1:8765", "pid": dead_pid})
    )
    assert server_url() == DEFAULT_SERVER_URL


def test_serve_on_another_port_gets_the_live_stream_of_a_plain_tap(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STREAMTAP_", "DATABASE_URL", "DJANGO_SUPERUSER"))
    }
    env.update(STREAMTAP_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    server = start_serve(env, port)
    try:
        server.wait_until_serving()
        assert f"STREAMTAP_SERVER_URL=http://127.0.0.1:{port}".encode() in server.output
        announced = json.loads((tmp_path / SERVER_FILE).read_text())
        assert announced["url"] == f"http://127.0.0.1:{port}"

        tap = run_tap(env, "--", *py("print('ERROR: seen live')"))
        assert tap.returncode == 0, tap.stderr
        # daphne's access log notes the tap's ingest websocket.
        deadline = time.monotonic() + 20
        log = tmp_path / "access.log"
        while b"/ws/ingest/" not in (log.read_bytes() if log.exists() else b""):
            assert time.monotonic() < deadline, "the tap never connected to the server"
            time.sleep(0.1)
    finally:
        server.stop()
    assert not (tmp_path / SERVER_FILE).exists()
