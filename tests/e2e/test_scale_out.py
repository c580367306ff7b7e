"""Many watchers, several servers, servers that die: every event reaches every browser.

Real daphne processes, real taps, real websocket clients (the `websockets` library speaking to
the server exactly as the dashboard's live.js does: subscribe, deduplicate by seq, resync on a
gap or after a reconnect).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import websockets

from tests.e2e.conftest import LiveServer, free_port
from tests.e2e.helpers import last_session_pk, tap_python, wait_for_session
from tests.helpers import run_async

REDIS_URL = os.environ.get("STREAMTAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def session_cookie(server: LiveServer) -> str:
    """A logged-in session for the staff user, made the way Django's login() makes one."""
    code = (
        "from django.contrib.auth import get_user_model, BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        f"u = get_user_model().objects.get(username={server.username!r})\n"
        "s = SessionStore()\n"
        "s[SESSION_KEY] = str(u.pk)\n"
        "s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash()\n"
        "s.create()\n"
        "print(s.session_key)\n"
    )
    return server.shell(code).strip()


def burst_child(flag: Path, count: int, per_second: int) -> str:
    """Prints `count` error lines at `per_second` once `flag` exists."""
    return (
        "import os, sys, time\n"
        f"while not os.path.exists({str(flag)!r}): time.sleep(0.02)\n"
        f"start = time.monotonic()\n"
        f"for i in range({count}):\n"
        f"    sys.stdout.write(f'ERROR: load {{i}}\\n'); sys.stdout.flush()\n"
        f"    delay = start + (i + 1) / {per_second} - time.monotonic()\n"
        "    if delay > 0: time.sleep(delay)\n"
    )


def start_burst(
    server: LiveServer, flag: Path, count: int, per_second: int, env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    """A tap of ``burst_child`` reporting with ``env`` (the server's), and its session's id."""
    since = last_session_pk(server)
    tap = tap_python(
        env or server.env,
        burst_child(flag, count, per_second),
        stdin=None,
        stdout=subprocess.DEVNULL,
    )
    try:
        return tap, wait_for_session(server, since_id=since)
    except BaseException:
        tap.kill()
        tap.wait()
        raise


class Watcher:
    """One browser's worth of live protocol: subscribe, dedupe by seq, resync on gaps."""

    def __init__(self, url: str, cookie: str, session_id: str, origin: str, stall: float = 0):
        self.url, self.cookie, self.session_id, self.origin = url, cookie, session_id, origin
        self.stall = stall
        self.seqs: set[int] = set()
        self.frames = 0
        self.reconnects = 0

    def contiguous(self) -> int:
        n = 0
        while n + 1 in self.seqs:
            n += 1
        return n

    async def run(self, expected: int, deadline: float) -> None:
        while self.contiguous() < expected and time.monotonic() < deadline:
            try:
                await self._connection(expected, deadline)
            # A server killed or restarting mid-handshake answers with nothing valid
            # (InvalidMessage): like the dashboard's live.js, try again.
            except (TimeoutError, OSError, websockets.exceptions.WebSocketException):
                self.reconnects += 1
                await asyncio.sleep(0.3)

    async def _connection(self, expected: int, deadline: float) -> None:
        async with websockets.connect(
            self.url,
            additional_headers={"Cookie": f"sessionid={self.cookie}"},
            origin=self.origin,
            open_timeout=10,
            max_size=2**24,
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "action": "subscribe",
                        "scope": "session",
                        "session": self.session_id,
                        "after_seq": self.contiguous(),
                        "after_oseq": 0,
                    }
                )
            )
            if self.stall:
                # A slow browser: it reads nothing for a while; the others must not wait.
                await asyncio.sleep(self.stall)
            last_resync = 0.0
            while self.contiguous() < expected and time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
                except TimeoutError:
                    raw = None
                if raw is not None:
                    frame = json.loads(raw)
                    self.frames += 1
                    if frame.get("type") == "events":
                        self.seqs.update(e["seq"] for e in frame["events"])
                have = self.contiguous()
                gap = (max(self.seqs, default=0) > have) or raw is None
                if gap and have < expected and time.monotonic() - last_resync > 1.0:
                    last_resync = time.monotonic()
                    await ws.send(
                        json.dumps(
                            {"action": "resync", "session": self.session_id, "after_seq": have}
                        )
                    )


def watch_all(watchers: list[Watcher], expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout

    async def main():
        await asyncio.gather(*(w.run(expected, deadline) for w in watchers))

    run_async(main)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_a_hundred_watchers_of_a_busy_session_all_get_every_event(live_server_proc, tmp_path):
    server, flag, count = live_server_proc, tmp_path / "go", 3000
    cookie = session_cookie(server)
    tap, session_id = start_burst(server, flag, count, per_second=1000)
    try:
        watchers = [
            Watcher(f"{server.ws_url}/ws/live/", cookie, session_id, server.base_url)
            for _ in range(99)
        ]
        watchers.append(
            Watcher(f"{server.ws_url}/ws/live/", cookie, session_id, server.base_url, stall=3.0)
        )
        rss_before = rss_kb(server.process.pid)
        threading.Timer(1.0, flag.touch).start()
        watch_all(watchers, count, timeout=120)
        rss_after = rss_kb(server.process.pid)
    finally:
        tap.wait(timeout=120)
    assert tap.returncode == 0, tap.stderr.read()
    incomplete = [(i, w.contiguous()) for i, w in enumerate(watchers) if w.contiguous() < count]
    assert not incomplete, incomplete
    assert all(w.seqs == set(range(1, count + 1)) for w in watchers)
    # Bounded memory: the server does not keep a copy per watcher of everything it sent.
    assert rss_after - rss_before < 200_000, (rss_before, rss_after)


def test_a_killed_server_loses_nothing_and_watchers_resync(live_server_proc, tmp_path):
    server, flag, count = live_server_proc, tmp_path / "go", 400
    cookie = session_cookie(server)
    tap, session_id = start_burst(server, flag, count, per_second=100)
    try:
        watcher = Watcher(f"{server.ws_url}/ws/live/", cookie, session_id, server.base_url)
        flag.touch()

        def kill_and_restart():
            time.sleep(1.5)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            time.sleep(0.5)
            server.start()

        killer = threading.Thread(target=kill_and_restart)
        killer.start()
        watch_all([watcher], count, timeout=120)
        killer.join()
    finally:
        tap.wait(timeout=120)
    assert tap.returncode == 0
    assert watcher.reconnects >= 1
    assert watcher.seqs == set(range(1, count + 1))
    stored = server.shell(
        "from extraction.models import ExtractionEvent as E\n"
        f"print(E.objects.filter(session__session_id={session_id!r}).count())"
    )
    assert int(stored) == count


class RoundRobinProxy:
    """One address in front of several servers, alternating per connection."""

    def __init__(self, backends: list[int]):
        self.backends = backends
        self.port = free_port()
        self.count = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)

    async def _serve(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader, writer) -> None:
        backend = self.backends[self.count % len(self.backends)]
        self.count += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            writer.close()
            return

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_two_servers_behind_one_address_show_every_event_of_every_tap(live_server_proc, tmp_path):
    assert redis_available(), "Redis must run on 127.0.0.1:6379 (the CI starts it)"
    base = live_server_proc
    env = dict(base.env, STREAMTAP_REDIS_URL=REDIS_URL)
    workers = [LiveServer(data_dir=base.data_dir, port=free_port(), env=env) for _ in range(2)]
    for worker in workers:
        worker.start()
    proxy = RoundRobinProxy([w.port for w in workers])
    proxy.start()
    front = f"http://127.0.0.1:{proxy.port}"
    cookie = session_cookie(base)
    taps, flags = [], []
    try:
        ids = []
        for n in range(2):
            flag = tmp_path / f"go{n}"
            flags.append(flag)
            # Taps publish straight into Redis; both workers fan out to their own browsers.
            tap, session_id = start_burst(
                base, flag, 200, per_second=200, env=dict(env, STREAMTAP_SERVER_URL=front)
            )
            taps.append(tap)
            ids.append(session_id)
        # Four watchers per session through the one address: they land on both workers.
        watchers = [
            Watcher(f"ws://127.0.0.1:{proxy.port}/ws/live/", cookie, sid, front)
            for sid in ids
            for _ in range(4)
        ]
        for flag in flags:
            threading.Timer(1.0, flag.touch).start()
        watch_all(watchers, 200, timeout=90)
    finally:
        for tap in taps:
            tap.wait(timeout=60)
        proxy.stop()
        for worker in workers:
            worker.stop()
    assert proxy.count >= len(watchers)
    assert all(w.seqs == set(range(1, 201)) for w in watchers)
