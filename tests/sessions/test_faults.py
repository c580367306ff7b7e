"""Faults that count: Redis away, the database away for a while. Real taps, real databases.

After each fault the tap must exit with its program's status, and every event extracted from the
recording must be in the database exactly once: seqs 1..N, the same rules, lines and contents as
`extract --json` finds in the recording afterwards, and no spill file left for `recover`.

"The database is down" depends on the database: on SQLite another process holds an EXCLUSIVE
lock (writers wait on the busy timeout); on PostgreSQL the tap reaches the server through a
proxy that refuses connections until it is brought up.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from django.db import connection

from extraction.models import ExtractionEvent
from sessions.models import ProcessSession
from sessions.recording import iter_events

from .conftest import py, run_tap
from .helpers import extract_json, run_manage

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def tap_child(
    env: dict, program: list[str], batch_seconds: float | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """`tap --pipe` around ``program`` with stdin closed, storing a batch every
    ``batch_seconds`` when given."""
    batching = ("--batch-seconds", str(batch_seconds)) if batch_seconds else ()
    return run_tap(
        env, "--pipe", *batching, "--", *program, stdin=subprocess.DEVNULL, timeout=timeout
    )


def child(lines: int, error_every: int, pause_every: int = 0, pause: float = 0.0) -> list[str]:
    """argv of a program printing ``lines`` lines, an error every ``error_every``, optionally
    pausing ``pause`` seconds every ``pause_every`` lines (to outlive an outage)."""
    code = (
        "import sys, time\n"
        f"for i in range({lines}):\n"
        f"    if i % {error_every} == 0:\n"
        "        print(f'ERROR: failure number {i}')\n"
        "    else:\n"
        "        print(f'line {i} of ordinary output')\n"
    )
    if pause_every:
        code += (
            f"    if i % {pause_every} == {pause_every} - 1:\n"
            f"        sys.stdout.flush(); time.sleep({pause})\n"
        )
    return py(code)


def assert_stored_exactly_once(env: dict, lines: int, events: int) -> ProcessSession:
    session = ProcessSession.objects.get()
    assert session.status == "completed"
    assert session.total_lines_processed == lines
    recorded = "".join(e.data for e in iter_events(session.recording_path) if e.code == "o")
    assert recorded.count("\n") == lines
    stored = list(
        ExtractionEvent.objects.filter(session=session)
        .order_by("seq")
        .values_list("seq", "event_type", "rule", "line_start", "content")
    )
    assert [row[0] for row in stored] == list(range(1, events + 1))
    assert session.total_extraction_events == events
    # The same extractor over the recording (the write-ahead log) finds exactly these events.
    extracted = extract_json(env, session.recording_path, timeout=120)
    assert [(e["type"], e["rule"], e["start_line"], e["content"]) for e in extracted] == [
        row[1:] for row in stored
    ]
    spill_dir = Path(env["STREAMTAP_DATA_DIR"]) / "spill"
    assert not list(spill_dir.glob("*.spill.jsonl")), "nothing should be left for recover"
    return session


# ---------------------------------------------------------------------------------------------
# Redis


class BlackholeServer:
    """Accepts TCP connections and never answers: a Redis that hangs instead of refusing."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clients: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.clients.append(client)

    def close(self):
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for client in self.clients:
            client.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("redis", ["refused", "unresponsive"])
def test_redis_down_the_tap_completes_and_the_database_is_complete(tap_env, redis):
    blackhole = BlackholeServer() if redis == "unresponsive" else None
    port = blackhole.port if blackhole else closed_port()
    env = dict(tap_env, STREAMTAP_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    try:
        # Output over about 2 s, so the publisher tries (and fails) many times meanwhile.
        result = tap_child(env, child(20_000, 20, pause_every=2_000, pause=0.2), batch_seconds=0.5)
    finally:
        if blackhole:
            blackhole.close()
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(b"\n") == 20_000
    assert_stored_exactly_once(env, lines=20_000, events=1_000)


# ---------------------------------------------------------------------------------------------
# The database


class FlakyPostgres:
    """A TCP proxy to the test PostgreSQL, down until ``up()``.

    Down is "refused" (nothing listens: the server is stopped) or "unresponsive" (connections
    are accepted and get no answer until ``up()``: a network partition that heals).
    """

    def __init__(self, target: tuple[str, int], down: str = "refused"):
        self.target = target
        self.port = closed_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.connections = 0
        self.is_up = threading.Event()
        if down == "unresponsive":
            self._listen()

    def up(self) -> None:
        self.is_up.set()
        if self.listener is None:
            self._listen()

    def _listen(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.sockets.append(client)
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        while not self.is_up.wait(0.5):
            if self.listener is None or self.listener.fileno() < 0:
                return
        try:
            server = socket.create_connection(self.target, timeout=10)
            server.settimeout(None)
        except OSError:
            client.close()
            return
        with self.lock:
            self.sockets.append(server)
            self.connections += 1
        for src, dst in ((client, server), (server, client)):
            threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            s.close()


@contextlib.contextmanager
def database_down(env: dict, seconds: float, how: str = "refused"):
    """Yield the tap's environment with the database unavailable for ``seconds`` from now
    (on PostgreSQL ``how`` it is down: "refused" or "unresponsive")."""
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(
            connection.settings_dict["NAME"],
            timeout=30,
            isolation_level=None,
            check_same_thread=False,
        )
        holder.execute("BEGIN EXCLUSIVE")

        def release():
            holder.execute("ROLLBACK")
            holder.close()

        timer = threading.Timer(seconds, release)
        timer.start()
        try:
            yield env
        finally:
            timer.join()
        return
    s = connection.settings_dict
    proxy = FlakyPostgres((s.get("HOST") or "127.0.0.1", int(s.get("PORT") or 5432)), how)
    user = s.get("USER") or "postgres"
    timer = threading.Timer(seconds, proxy.up)
    timer.start()
    try:
        yield dict(env, DATABASE_URL=f"postgres://{user}@127.0.0.1:{proxy.port}/{s['NAME']}")
        timer.join()
        assert proxy.connections > 0, "the tap never went through the proxy"
    finally:
        timer.cancel()
        proxy.close()


@pytest.mark.timeout(600)
def test_database_down_when_the_program_ends_stores_everything_once_it_is_back(tap_env):
    """Down for 8 s from before the tap starts; the program is done after about 1 s, so the
    final flush is what waits for the database."""
    with database_down(tap_env, seconds=8) as env:
        result = tap_child(env, child(3_000, 10), batch_seconds=0.2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(b"\n") == 3_000
    if connection.vendor == "sqlite":
        # The busy timeout (30 s) covers the lock: nobody sees an error.
        assert b"database is locked" not in result.stderr
    assert_stored_exactly_once(tap_env, lines=3_000, events=300)


@pytest.mark.timeout(900)
def test_database_down_for_30_seconds_while_the_program_runs(tap_env):
    """The issue's figure: 30 s without a database while the program keeps printing (for about
    33 s); everything is stored once the database is back, with no spill file."""
    with database_down(tap_env, seconds=30) as env:
        result = tap_child(
            env, child(6_600, 10, pause_every=100, pause=0.5), batch_seconds=0.5, timeout=300
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(b"\n") == 6_600
    assert_stored_exactly_once(tap_env, lines=6_600, events=660)


@pytest.mark.timeout(600)
def test_database_down_past_the_final_flush_is_spilled_not_forgotten(tap_env):
    """Down for 20 s and the program done at once: longer than the tap waits at exit (10 s + 5 s).

    The tap may exit, but then it must say so and leave a spill file, so that `recover` stores
    the session as it ended (completed, exit 0), not as a "lost" orphan recording.
    """
    with database_down(tap_env, seconds=20, how="unresponsive") as env:
        result = tap_child(env, child(1_000, 10))
        assert result.returncode == 0, result.stderr[-3000:]
    spills = list((Path(tap_env["STREAMTAP_DATA_DIR"]) / "spill").glob("*.spill.jsonl"))
    stored = ProcessSession.objects.filter(status="completed").exists()
    assert stored or (spills and b"spilled to" in result.stderr), (
        "the tap exited 0 with nothing stored, nothing spilled and nothing said: "
        + result.stderr.decode()[-2000:]
    )
    recover = run_manage(tap_env, "recover", timeout=120)
    assert recover.returncode == 0, recover.stderr
    session = assert_stored_exactly_once(tap_env, lines=1_000, events=100)
    assert session.exit_code == 0
