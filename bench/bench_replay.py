"""Replay of a long session: time to first frame and seek latency on a 1-hour, 1M-line recording.

    .venv/bin/python bench/bench_replay.py [--lines 1000000] [--seeks 200] [--no-http]

Writes a recording of `--lines` output chunks (one line each, the worst case for the number of
events) spread over an hour, with a marker every 1,000 lines, then measures:

- the index directly (sessions.replay.RecordingIndex): a cold open that builds the index
  (no `.idx` yet), a warm open from the cached `.idx`, and random seeks, each a seek plus the
  256 KB range the replay page reads next;
- the real HTTP endpoints under daphne (unless --no-http): time to the first output line of
  `GET /api/replay/session/<id>` at start 0 and at random offsets (cold and warm index), and the
  page's `GET .../range?start=T` at random offsets.

Targets (issue 5, item 6): first frame ≤ 500 ms, seek ≤ 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 500.0
HOUR = 3600.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=HOUR)
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--no-http", action="store_true")
    return parser.parse_args()


def write_recording(path: Path, lines: int, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    step = seconds / lines
    with open(path, "w", encoding="utf-8") as f:
        header = {"version": 2, "width": 120, "height": 40, "timestamp": int(time.time())}
        f.write(json.dumps(header) + "\n")
        batch = []
        for i in range(lines):
            t = i * step
            text = f"\x1b[32m{i:07d}\x1b[0m step {i % 977} of the build: compiling module_{i % 313}.py\r\n"
            batch.append(f"[{t:.6f}, " + '"o", ' + json.dumps(text) + "]\n")
            if i % 1000 == 999:
                batch.append(f'[{t:.6f}, "m", "error: failure {i}"]\n')
            if len(batch) >= 20000:
                f.write("".join(batch))
                batch = []
        f.write("".join(batch))


def ms(seconds: float) -> float:
    return seconds * 1000.0


def summary(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    verdict = "ok" if p95 <= TARGET_MS else "OVER TARGET"
    return (
        f"{name:<44} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {samples[-1]:7.1f} ms  "
        f"(n={len(samples)}, {verdict})"
    )


def bench_index(path: Path, seeks: int, seconds: float) -> None:
    from sessions.replay import RecordingIndex

    index_file = path.with_name(path.name + ".idx")
    index_file.unlink(missing_ok=True)
    began = time.perf_counter()
    index = RecordingIndex.open(path)
    seek = index.seek(0.0)
    frames, _ = index.read(seek.cursor, max_bytes=256 * 1024)
    cold = time.perf_counter() - began
    print(
        f"index: {len(index.points)} points, {index.end_time:.0f} s, "
        f"{path.stat().st_size / 1e6:.0f} MB, .idx {index_file.stat().st_size / 1e3:.0f} KB"
    )
    print(f"{'first frame, cold (builds the index)':<44} {ms(cold):7.1f} ms  ({len(frames)} lines)")
    began = time.perf_counter()
    index = RecordingIndex.open(path)
    seek = index.seek(0.0)
    index.read(seek.cursor, max_bytes=256 * 1024)
    print(f"{'first frame, warm (cached .idx)':<44} {ms(time.perf_counter() - began):7.1f} ms")
    rng = random.Random(1)
    samples = []
    read = []
    for _ in range(seeks):
        began = time.perf_counter()
        seek = index.seek(rng.uniform(0, seconds))
        index.read(seek.cursor, max_bytes=256 * 1024)
        samples.append(ms(time.perf_counter() - began))
        read.append(seek.bytes_read)
    print(summary("seek + next 256 KB range (index)", samples))
    print(f"  bytes read per seek to find the point and the keyframe: max {max(read) / 1e3:.0f} KB")


# --- HTTP ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(data_dir: Path, recording: Path) -> tuple[str, str]:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from extraction.models import ExtractionEvent
    from sessions.models import ProcessSession

    call_command("migrate", "--noinput", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    token = Token.objects.get_or_create(user=user)[0].key
    started = timezone.now() - timezone.timedelta(hours=2)
    session, _ = ProcessSession.objects.update_or_create(
        session_id="bench-replay-1",
        defaults=dict(
            agent_name="bench",
            status="completed",
            started_at=started,
            ended_at=started + timezone.timedelta(hours=1),
            recording_path=str(recording),
            term_cols=120,
            term_rows=40,
        ),
    )
    ExtractionEvent.objects.filter(session=session).delete()
    ExtractionEvent.objects.bulk_create(
        ExtractionEvent(
            session=session,
            seq=n,
            agent_name="bench",
            event_type="error",
            rule="bench",
            severity="error",
            risk_level="low",
            line_start=n * 1000,
            line_end=n * 1000,
            content=f"failure {n}",
            timestamp=started,
            offset_seconds=n * 3.6,
        )
        for n in range(1, 1001)
    )
    return session.session_id, token


def first_output_ms(client, url: str, params: dict) -> float:
    began = time.perf_counter()
    with client.stream("GET", url, params=params) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if json.loads(line).get("type") == "o":
                return ms(time.perf_counter() - began)
    raise AssertionError("no output in the stream")


def bench_http(data_dir: Path, recording: Path, seeks: int, seconds: float) -> None:
    import httpx

    session_id, token = prepare_database(data_dir, recording)
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "streamtap_site.settings"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(port),
         "streamtap_site.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/login/")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            stream = f"/api/replay/session/{session_id}"
            ranges = f"/api/replay/session/{session_id}/range"
            recording.with_name(recording.name + ".idx").unlink(missing_ok=True)
            cold = first_output_ms(client, stream, {"speed": 1})
            print(f"{'HTTP stream first frame, cold index':<44} {cold:7.1f} ms")
            warm = [first_output_ms(client, stream, {"speed": 1}) for _ in range(20)]
            print(summary("HTTP stream first frame (start=0)", warm))
            rng = random.Random(2)
            samples = [
                first_output_ms(
                    client, stream, {"speed": 1, "start": f"{rng.uniform(0, seconds):.3f}"}
                )
                for _ in range(max(20, seeks // 4))
            ]
            print(summary("HTTP stream first frame at a random start", samples))
            samples = []
            for _ in range(seeks):
                began = time.perf_counter()
                response = client.get(ranges, params={"start": f"{rng.uniform(0, seconds):.3f}"})
                response.raise_for_status()
                samples.append(ms(time.perf_counter() - began))
            print(summary("HTTP range?start=T (the page's seek)", samples))
            began = time.perf_counter()
            client.get(f"/api/replay/session/{session_id}/index").raise_for_status()
            print(f"{'HTTP index (1,000 events)':<44} {ms(time.perf_counter() - began):7.1f} ms")
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    args = parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="streamtap-bench-replay-"))
    os.environ["STREAMTAP_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamtap_site.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    recording = data_dir / "recordings" / f"bench-{args.lines}.cast"
    if not recording.exists():
        began = time.perf_counter()
        write_recording(recording, args.lines, args.seconds)
        print(f"wrote {recording} in {time.perf_counter() - began:.1f} s")
    print(f"recording: {args.lines:,} lines over {args.seconds:.0f} s")
    bench_index(recording, args.seeks, args.seconds)
    if not args.no_http:
        bench_http(data_dir, recording, args.seeks, args.seconds)


if __name__ == "__main__":
    main()
