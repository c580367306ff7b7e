"""Row 13 of issue 15: `serve` stops its daphne on any stop signal; a busy port changes nothing.

Attacked as it was: the real command, signals sent to serve's own pid (not its group, as
`kill PID` or a service manager does), the port probed afterwards.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from sessions.live import SERVER_FILE
from tests.helpers import wait_for
from tests.processes import alive, start_serve

from .conftest import ROOT, free_port, server_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_to_serve_stops_its_daphne(tmp_path, signum):
    port = free_port()
    serve = start_serve(server_env(tmp_path), port)
    try:
        serve.wait_until_serving()
        daphne = serve.daphne_pid()
        assert listening(port)
        serve.process.send_signal(signum)
        assert serve.process.wait(30) is not None
        wait_for(lambda: not alive(daphne), 15, "daphne to stop")
        assert not listening(port)
        assert not (tmp_path / SERVER_FILE).exists()
    finally:
        serve.stop()


def test_daphne_does_not_outlive_a_killed_serve(tmp_path):
    port = free_port()
    serve = start_serve(server_env(tmp_path), port)
    try:
        serve.wait_until_serving()
        daphne = serve.daphne_pid()
        serve.process.send_signal(signal.SIGKILL)
        serve.process.wait(30)
        wait_for(lambda: not alive(daphne), 15, "daphne to stop")
        assert not listening(port)
    finally:
        serve.stop()


def test_a_second_serve_on_a_busy_port_is_an_error_and_changes_nothing(tmp_path):
    port = free_port()
    env = server_env(tmp_path)
    first = start_serve(env, port)
    try:
        first.wait_until_serving()
        announced = (tmp_path / SERVER_FILE).read_text()
        second = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        assert "Address already in use" in second.stderr
        assert "serving" not in second.stdout
        # The first server's announcement is untouched, and it still serves.
        assert (tmp_path / SERVER_FILE).read_text() == announced
        assert json.loads(announced)["pid"] == first.process.pid
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10) as response:
            assert response.status == 200
    finally:
        first.stop()


STOP_TAKEN_BY_ANOTHER_THREAD = """
import signal, threading, time
import django
django.setup()
from sessions.management.commands.serve import StopRequest

stop = StopRequest()
stop.install()
worker_ready, release = threading.Event(), threading.Event()
def worker():
    worker_ready.set()
    release.wait()
thread = threading.Thread(target=worker)
thread.start()
worker_ready.wait()
# The kernel may hand a process-directed signal to any thread; here it goes to the worker.
signal.pthread_kill(thread.ident, signal.SIGTERM)
started = time.monotonic()
stop.wait(30)
woken_after = time.monotonic() - started
release.set()
thread.join()
print(stop.signum == signal.SIGTERM, woken_after < 25)
"""


def test_a_stop_signal_taken_by_another_thread_still_wakes_serve():
    """Serve once sat in waitpid() for good when the stop went astray (CI saw it)."""
    result = subprocess.run(
        [sys.executable, "-c", STOP_TAKEN_BY_ANOTHER_THREAD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
