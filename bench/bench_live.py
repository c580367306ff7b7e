"""Live latency: from a line printed by the wrapped program to the session page showing its event.

    .venv/bin/python bench/bench_live.py [--layers default,redis] [--rates 10:20,1000:10]

A real daphne (fresh STREAMTAP_DATA_DIR, migrated, one staff user) and a real
`manage.py tap --pipe` whose child prints `ERROR: bench <n> <time.time_ns()>` lines at a fixed
rate. Headless Chromium (Debian's /usr/bin/chromium through Playwright) is logged in and has the
session page open (/sessions/<session_id>/); a MutationObserver on the event timeline
(`#timeline`, filled by static/js/session.js) notes `performance.timeOrigin + performance.now()`
when each `<li>` appears and parses the embedded nanosecond timestamp, so latency = DOM insertion
time − print time, on the same clock.

Only events printed after the page is subscribed count: the child prints one warm-up event,
waits for a flag file, and the flag is created once the warm-up event is on the page (it came
through the backlog or live, so the socket is subscribed). Each rate runs for its number of
seconds, then the page gets a few seconds for stragglers (gap resyncs from the database).

Layers: `default` (tap → server's /ws/ingest/ → in-memory channel layer) and `redis`
(STREAMTAP_REDIS_URL for both daphne and the tap: the tap group_sends into channels-redis).
Redis pub/sub channels are global to the Redis server (not per database number), so other
processes using the same Redis could see these frames; the groups carry this run's sessions only.

Targets (issue 19 item 3), both layers: at 10 events/s p95 ≤ 10 ms; at 1,000 events/s p95 ≤ 150 ms
with every event shown; the tap's memory (PSS of all its processes, the program excluded) ≤ 100 MB
while it runs (`--rates 1000:60` for the sustained minute).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    MANAGE,
    PYTHON,
    REDIS_URL,
    ROOT,
    children_by_parent,
    clean_env,
    free_port,
    loadavg,
    percentile,
    pss_kb,
    sqlite_path,
    start_daphne,
    stop_process,
)

TARGETS = {10: 10.0, 1000: 150.0}  # events/s -> p95 ms
BENCH_LINE = re.compile(r"ERROR: bench (\d+) (\d+)")

CHILD = r"""
import os, sys, time
rate, seconds, flag, count_file = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
out = sys.stdout
out.write(f"ERROR: bench 0 {time.time_ns()} warm-up\n"); out.flush()
deadline = time.monotonic() + 120
while not os.path.exists(flag):
    if time.monotonic() > deadline:
        sys.exit("no flag")
    time.sleep(0.005)
total = int(rate * seconds)
start = time.monotonic()
for n in range(1, total + 1):
    due = start + (n - 1) / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    out.write(f"ERROR: bench {n} {time.time_ns()}\n")
    out.flush()
with open(count_file, "w") as f:
    f.write(str(total))
"""

OBSERVER = r"""
() => {
  window.__bench = { seen: new Map(), frames: 0 };
  const re = /ERROR: bench (\d+) (\d+)/;
  const timeline = document.getElementById("timeline");
  new MutationObserver((mutations) => {
    const now = performance.timeOrigin + performance.now();
    window.__bench.frames += 1;
    for (const m of mutations) {
      for (const node of m.addedNodes) {
        if (node.nodeType !== 1) continue;
        const match = re.exec(node.textContent || "");
        if (!match) continue;
        const n = Number(match[1]);
        if (window.__bench.seen.has(n)) continue;
        // Nanoseconds since the epoch do not fit a double exactly: split before dividing.
        const ns = match[2];
        const printedMs = Number(ns.slice(0, -6)) + Number(ns.slice(-6)) / 1e6;
        window.__bench.seen.set(n, now - printedMs);
      }
    }
  }).observe(timeline, { childList: true });
  return true;
}
"""

# Installed before the page's own scripts: notes when each event's frame reached the page's
# websocket, so the report can split latency into "to the browser" and "inside the page".
SOCKET_TAP = r"""
(() => {
  const arrived = new Map();
  window.__benchSocket = arrived;
  const re = /ERROR: bench (\d+) (\d+)/;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (message) => {
        const now = performance.timeOrigin + performance.now();
        // Only "events" frames: the terminal output frames carry the same text earlier.
        if (typeof message.data !== "string" || !message.data.includes('"events"')) return;
        let frame;
        try { frame = JSON.parse(message.data); } catch { return; }
        if (frame.type !== "events") return;
        for (const event of frame.events || []) {
          const match = re.exec(String(event.content));
          if (!match) continue;
          const n = Number(match[1]);
          if (arrived.has(n)) continue;
          const ns = match[2];
          arrived.set(n, now - (Number(ns.slice(0, -6)) + Number(ns.slice(-6)) / 1e6));
        }
      });
    }
  };
})();
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="default,redis")
    parser.add_argument(
        "--rates", default="10:20,1000:10", help="events/s:seconds pairs, comma-separated"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (daphne.log)")
    return parser.parse_args()


class Server:
    def __init__(self, data: Path, env: dict):
        self.data, self.env, self.port = data, env, free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start_daphne(
            self.port, self.env, self.data / f"daphne-{self.port}.log", timeout=60
        )

    def stop(self) -> None:
        stop_process(self.proc)


def prepare(data: Path, password: str) -> None:
    env = clean_env(STREAMTAP_DATA_DIR=str(data))
    subprocess.run(
        [PYTHON, MANAGE, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    subprocess.run(
        [
            PYTHON,
            MANAGE,
            "createsuperuser",
            "--noinput",
            "--username",
            "bench",
            "--email",
            "bench@example.com",
        ],
        env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def wait_for_session(db: Path, agent: str, timeout: float = 60) -> str:
    """The session id of the tap for `agent`, once its warm-up event is in the database.

    The page must find the warm-up event in its backlog: a live frame published before the
    page subscribed is gone, and the writer stores it only with its batch (up to 5 s later).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
            try:
                row = conn.execute(
                    "SELECT s.session_id FROM process_sessions s JOIN extraction_events e "
                    "ON e.session_id = s.id WHERE s.agent_name = ? ORDER BY s.id DESC LIMIT 1",
                    [agent],
                ).fetchone()
            finally:
                conn.close()
            if row:
                return row[0]
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no session with an event for agent {agent} within {timeout} s")


class SocketProbe(threading.Thread):
    """A second subscriber without a browser: a websockets client on /ws/live/ with the same
    login, timing each event frame as it arrives in this process. Its latency is tap + server
    only, so comparing it with the page's separates the browser's share from the rest."""

    def __init__(self, server: Server, cookie: str, session_id: str):
        super().__init__(daemon=True)
        self.server, self.cookie, self.session_id = server, cookie, session_id
        self.arrived: dict[int, float] = {}
        self.subscribed = threading.Event()
        self._done = threading.Event()
        self.error = ""

    def run(self) -> None:
        from websockets.sync.client import connect

        url = self.server.base_url.replace("http://", "ws://") + "/ws/live/"
        try:
            with connect(
                url,
                additional_headers={"Cookie": self.cookie},
                origin=self.server.base_url,
                max_size=2**24,
                compression=None,
            ) as ws:
                ws.send(
                    json.dumps(
                        {
                            "action": "subscribe",
                            "scope": "session",
                            "session": self.session_id,
                            "after_seq": 0,
                            "after_oseq": 10**9,
                        }
                    )
                )
                while not self._done.is_set():
                    try:
                        data = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    now = time.time_ns()
                    frame = json.loads(data)
                    if frame.get("type") != "events":
                        continue
                    for event in frame.get("events") or ():
                        match = BENCH_LINE.search(str(event.get("content", "")))
                        if not match:
                            continue
                        n = int(match.group(1))
                        if n == 0:
                            self.subscribed.set()
                        self.arrived.setdefault(n, (now - int(match.group(2))) / 1e6)
        except Exception as exc:  # reported beside the figures, never fatal
            self.error = repr(exc)
            self.subscribed.set()

    def stop(self) -> None:
        self._done.set()
        self.join(5)


class TapMemory(threading.Thread):
    """Peak PSS of the tap's processes together (the wrapped program excluded), every 0.5 s."""

    def __init__(self, root: int, program_marker: str):
        super().__init__(daemon=True)
        self.root, self.marker = root, program_marker
        self.peak_kb = 0
        self._done = threading.Event()

    @staticmethod
    def _read(path: str) -> str:
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _tree(self) -> list[int]:
        children = children_by_parent()
        mine, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            args = self._read(f"/proc/{pid}/cmdline").split("\0")
            if args[2:3] == [self.marker]:
                continue  # the wrapped program (python -u child.py …), not the tap's
            mine.append(pid)
            stack.extend(children.get(pid, []))
        return mine

    def run(self) -> None:
        while not self._done.wait(0.5):
            self.peak_kb = max(self.peak_kb, sum(pss_kb(pid) for pid in self._tree()))

    def stop(self) -> float:
        self._done.set()
        self.join(5)
        return self.peak_kb / 1024


def recording_lag(db: Path, agent: str) -> list[float]:
    """ms from each bench line's print to the tap reading it (the recording's chunk time).

    The recording's offsets are relative to the session's exact start (process_sessions.
    started_at, microseconds); the header's timestamp is whole seconds only.
    """
    from datetime import datetime

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        started, path = conn.execute(
            "SELECT started_at, recording_path FROM process_sessions WHERE agent_name = ? "
            "ORDER BY id DESC LIMIT 1",
            [agent],
        ).fetchone()
    finally:
        conn.close()
    start = datetime.fromisoformat(str(started).replace(" ", "T"))
    if start.tzinfo is None:
        from datetime import UTC

        start = start.replace(tzinfo=UTC)
    t0 = start.timestamp()
    lags = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            try:
                offset, code, data = json.loads(line)
            except ValueError:
                continue
            if code != "o":
                continue
            for match in BENCH_LINE.finditer(data):
                if int(match.group(1)) > 0:
                    lags.append((t0 + offset) * 1000 - int(match.group(2)) / 1e6)
    # The offsets' origin is taken a moment after started_at: relative to the quickest read.
    low = min(lags, default=0.0)
    return sorted(lag - low for lag in lags)


def measure_rate(
    browser,
    server: Server,
    password: str,
    env: dict,
    rate: int,
    seconds: float,
    settle: float,
    tag: str,
) -> dict:
    work = server.data / f"run-{tag}"
    work.mkdir()
    child = work / "child.py"
    child.write_text(CHILD)
    flag, count_file = work / "go", work / "printed"
    agent = f"benchlive-{tag}"
    tap_log = open(work / "tap.log", "wb")  # noqa: SIM115
    tap = subprocess.Popen(
        [
            PYTHON,
            MANAGE,
            "tap",
            "--pipe",
            "--agent",
            agent,
            "--",
            PYTHON,
            "-u",
            str(child),
            str(rate),
            str(seconds),
            str(flag),
            str(count_file),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=tap_log,
    )
    memory = TapMemory(tap.pid, str(child))
    memory.start()
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_init_script(SOCKET_TAP)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server.base_url}/login/")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.base_url}/")
        session_id = wait_for_session(sqlite_path(server.data), agent)
        page.goto(f"{server.base_url}/sessions/{session_id}/")
        page.evaluate(OBSERVER)
        # The warm-up event (seq 1) may already be in the DOM from the backlog, before the observer.
        page.wait_for_function(
            "() => /ERROR: bench 0 /.test(document.getElementById('timeline').textContent)",
            timeout=60_000,
        )
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
        probe = SocketProbe(server, cookie, session_id)
        probe.start()
        probe.subscribed.wait(30)
        flag.touch()
        started = time.monotonic()
        tap.wait(timeout=seconds * 4 + 120)
        run_seconds = time.monotonic() - started
        printed = int(count_file.read_text()) if count_file.exists() else 0
        # Stragglers: events dropped live are fetched by a gap resync from the database.
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            shown = page.evaluate(
                "() => [...window.__bench.seen.keys()].filter((n) => n > 0).length"
            )
            if shown >= printed:
                break
            time.sleep(0.2)
        seen = page.evaluate("() => [...window.__bench.seen.entries()]")
        arrived = page.evaluate("() => [...window.__benchSocket.entries()]")
        frames = page.evaluate("() => window.__bench.frames")
        probe.stop()
    finally:
        tap_mb = memory.stop()
        context.close()
        if tap.poll() is None:
            tap.kill()
            tap.wait()
        tap_log.close()
    try:
        read_lag = recording_lag(sqlite_path(server.data), agent)
    except (OSError, TypeError, ValueError) as exc:
        print(f"  (no recording lag: {exc!r})")
        read_lag = []
    latencies = sorted(ms for n, ms in seen if n > 0)
    socket = sorted(ms for n, ms in arrived if n > 0)
    direct = sorted(ms for n, ms in probe.arrived.items() if n > 0)
    return {
        "read_p50": percentile(read_lag, 50),
        "read_p95": percentile(read_lag, 95),
        "probe_p50": percentile(direct, 50),
        "probe_p95": percentile(direct, 95),
        "probe_shown": len(direct),
        "probe_error": probe.error,
        "socket_p50": percentile(socket, 50),
        "socket_p95": percentile(socket, 95),
        "rate": rate,
        "seconds": seconds,
        "run_seconds": run_seconds,
        "printed": printed,
        "shown": len(latencies),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "mutations": frames,
        "tap_rc": tap.returncode,
        "tap_mb": tap_mb,
        "page_errors": errors,
    }


def run_layer(
    browser, layer: str, rates: list[tuple[int, float]], settle: float, keep: bool
) -> list[dict]:
    data = Path(tempfile.mkdtemp(prefix=f"streamtap-bench-live-{layer}-"))
    password = secrets.token_urlsafe(12)
    results = []
    server = None
    try:
        prepare(data, password)
        extra = {"STREAMTAP_DATA_DIR": str(data)}
        if layer == "redis":
            extra["STREAMTAP_REDIS_URL"] = REDIS_URL
        env = clean_env(**extra)
        server = Server(data, env)
        server.start()
        tap_env = {**env, "STREAMTAP_SERVER_URL": server.base_url}
        for rate, seconds in rates:
            r = measure_rate(
                browser,
                server,
                password,
                tap_env,
                rate,
                seconds,
                settle,
                f"{layer}-{rate}-{seconds:g}",
            )
            r["layer"] = layer
            results.append(r)
            print(
                f"  {layer:<8} {rate:>5} ev/s: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms, "
                f"shown {r['shown']:,}/{r['printed']:,}, tap {r['tap_mb']:.1f} MB",
                flush=True,
            )
    finally:
        if server:
            server.stop()
        if keep:
            print(f"  data kept in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    return results


def main() -> None:
    args = parse_args()
    layers = [x for x in args.layers.split(",") if x]
    rates = []
    for pair in args.rates.split(","):
        rate, _, seconds = pair.partition(":")
        rates.append((int(rate), float(seconds or 10)))
    print(f"load average at start {loadavg()}", flush=True)
    from playwright.sync_api import sync_playwright

    results: list[dict] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for layer in layers:
                if layer == "redis" and not redis_up():
                    print("redis: skipped (no server at 127.0.0.1:6379)")
                    continue
                results += run_layer(browser, layer, rates, args.settle, args.keep)
        finally:
            browser.close()
    print(f"\n## Live latency, print → event in the page (load {loadavg()} at end)\n")
    print(
        "| layer | events/s | printed | shown | p50 ms | p95 ms | p99 ms | max ms "
        "| page's socket p50 / p95 ms | no browser: p50 / p95 ms (shown) "
        "| tap read p50 / p95 ms | tap PSS MB | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        target = TARGETS.get(r["rate"])
        verdict = ""
        if target is not None:
            ok = r["p95"] <= target and (r["rate"] < 1000 or r["shown"] >= r["printed"])
            all_shown = ", all shown" if r["rate"] >= 1000 else ""
            ok = ok and r["tap_mb"] <= 100
            verdict = f"p95 ≤ {target:g} ms{all_shown}, ≤ 100 MB {'✓' if ok else '✗'}"
        print(
            f"| {r['layer']} | {r['rate']:,} | {r['printed']:,} | {r['shown']:,} | {r['p50']:.1f} | {r['p95']:.1f} | "
            f"{r['p99']:.1f} | {r['max']:.1f} | {r['socket_p50']:.1f} / {r['socket_p95']:.1f} | "
            f"{r['probe_p50']:.1f} / {r['probe_p95']:.1f} ({r['probe_shown']:,}) | "
            f"{r['read_p50']:.1f} / {r['read_p95']:.1f} | {r['tap_mb']:.1f} | {verdict} |"
        )
    print(
        "\np50/p95: the MutationObserver (event in the DOM); page's socket: the same events' frames "
        "as the page's WebSocket dispatched them (main thread); no browser: a websockets client "
        "in the bench process subscribed to the same session; tap read: print → the tap's "
        "recording of the chunk, relative to the quickest read (the tap's own share); tap PSS: the "
        "peak of the tap's processes together, sampled every 0.5 s, the program excluded."
    )
    for r in results:
        if r["probe_error"]:
            print(f"no-browser probe failed ({r['layer']}, {r['rate']}/s): {r['probe_error']}")
    errors = [e for r in results for e in r["page_errors"]]
    if errors:
        print(f"\npage errors: {errors[:5]}")


def redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


if __name__ == "__main__":
    main()
