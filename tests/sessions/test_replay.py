"""Replay and recordings: the paced replay stream, export, import round trip, the range API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from extraction.models import ExtractionEvent
from sessions.live import event_to_dict
from sessions.models import ProcessSession, SessionStatus
from sessions.recording import AsciicastWriter, iter_events
from sessions.replay import replay_body
from sessions.replay_index import RecordingIndex
from tests.factories import make_event, make_session
from tests.helpers import run_async

from .conftest import ROOT, py, run_tap

ASCIINEMA = Path(sys.executable).with_name("asciinema")


# --- helpers ---------------------------------------------------------------------------------


def write_cast(path: Path, chunks: list[tuple[float, str]], **header) -> Path:
    writer = AsciicastWriter(path, width=header.pop("width", 80), height=24, started=0, **header)
    for t, text in chunks:
        writer.output(t, text)
    writer.close()
    return path


def output_of(path: Path | str) -> str:
    return "".join(e.data for e in iter_events(path) if e.code == "o")


def session_with_recording(tmp_path, chunks, **fields) -> ProcessSession:
    path = write_cast(tmp_path / "rec.cast", chunks)
    return make_session(recording_path=str(path), **fields)


def stream_messages(client, session_id: str, **params) -> list[dict]:
    response = client.get(reverse("st-api-replay", args=[session_id]), params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/x-ndjson"
    # NDJSON's lines end at \n only: str.splitlines() would also split at a U+2028 in the text.
    return [json.loads(line) for line in body_of(response).decode().split("\n") if line]


def body_of(response) -> bytes:
    # The replay body is an async generator (daphne streams it); the sync test client has
    # Django consume it in one go, which is all these tests need.
    with pytest.warns(Warning, match="consume asynchronous iterators"):
        return b"".join(response)


class FakeClock:
    """Time that only moves when the replay sleeps: long gaps cost nothing to test."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def timed_replay(index, events=(), **options) -> list[tuple[float, dict]]:
    """(playback seconds at which each message left, message) under a fake clock."""
    clock = FakeClock()
    began = clock.now
    options.setdefault("start", 0.0)
    options.setdefault("idle_time_limit", None)

    async def run():
        out = []
        async for chunk in replay_body(index, events, clock=clock, sleep=clock.sleep, **options):
            for line in chunk.decode().splitlines():
                out.append((clock.now - began, json.loads(line)))
        return out

    return run_async(run)


# --- timing ----------------------------------------------------------------------------------


def test_timing_is_scaled_by_speed(tmp_path):
    path = write_cast(tmp_path / "a.cast", [(0.0, "a"), (1.0, "b"), (3.0, "c"), (7.5, "d")])
    out = timed_replay(RecordingIndex.open(path), speed=2.0)
    assert [(round(w, 6), m.get("data")) for w, m in out] == [
        (0.0, "a"),
        (0.5, "b"),
        (1.5, "c"),
        (3.75, "d"),
        (3.75, None),
    ]
    assert out[-1][1] == {"type": "end"}
    assert [m["t"] for _, m in out[:-1]] == [0.0, 1.0, 3.0, 7.5]


def test_idle_gaps_are_capped_before_scaling(tmp_path):
    path = write_cast(tmp_path / "a.cast", [(0.0, "a"), (0.5, "b"), (600.0, "c"), (3600.0, "d")])
    out = timed_replay(RecordingIndex.open(path), speed=0.5, idle_time_limit=2.0)
    # 0.5 s stays 0.5 s, each hour-long wait becomes 2 s; then divided by the speed.
    assert [round(w, 6) for w, m in out if m["type"] == "o"] == [0.0, 1.0, 5.0, 9.0]


def test_timing_on_the_real_clock_within_tolerance(tmp_path):
    chunks = [(i * 1.0, f"tick {i}\r\n") for i in range(6)]
    index = RecordingIndex.open(write_cast(tmp_path / "a.cast", chunks))
    arrivals = []

    async def run():
        began = time.monotonic()
        async for chunk in replay_body(index, [], start=0.0, speed=10.0, idle_time_limit=None):
            for line in chunk.decode().splitlines():
                arrivals.append((time.monotonic() - began, json.loads(line)))

    run_async(run)
    outputs = [(wall, m["t"]) for wall, m in arrivals if m["type"] == "o"]
    assert len(outputs) == 6
    for wall, t in outputs:
        assert wall == pytest.approx(t / 10.0, abs=0.04)


def test_start_offset_sends_the_screen_then_the_rest(tmp_path):
    chunks = [(float(i), f"line {i}\r\n") for i in range(30)]
    index = RecordingIndex.open(write_cast(tmp_path / "a.cast", chunks))
    out = timed_replay(index, start=12.5, speed=1.0)
    first = out[0][1]
    assert first["keyframe"] is True and first["t"] == 12.5
    assert first["data"].startswith("line 0\r\n") and first["data"].endswith("line 12\r\n")
    rest = [m for _, m in out[1:] if m["type"] == "o"]
    assert rest[0] == {"t": 13.0, "type": "o", "data": "line 13\r\n"}
    assert [round(w, 6) for w, m in out if m["type"] == "o"][1:3] == [0.5, 1.5]


def test_events_follow_the_output_they_were_found_in(tmp_path):
    path = write_cast(tmp_path / "a.cast", [(0.0, "a"), (2.0, "Traceback"), (4.0, "c")])
    index = RecordingIndex.open(path)
    event = {"seq": 1, "offset_seconds": 2.0, "event_type": "error", "content": "Traceback"}
    kinds = [(m["type"], m["t"]) for _, m in timed_replay(index, [event], speed=1.0)[:-1]]
    assert kinds == [("o", 0.0), ("o", 2.0), ("event", 2.0), ("o", 4.0)]


def test_a_live_session_is_followed_until_it_ends(tmp_path):
    path = tmp_path / "live.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=0)
    writer.output(0.0, "first\r\n")
    index = RecordingIndex.open(path)
    polls = []

    async def follow(after_seq):
        polls.append(after_seq)
        if len(polls) == 1:
            writer.output(1.0, "second\r\n")
            return True, [{"seq": 1, "offset_seconds": 1.0, "event_type": "prompt"}]
        if len(polls) == 2:
            writer.output(2.0, "last\r\n")
            writer.close()
            return False, []
        raise AssertionError("polled after the session ended")

    out = timed_replay(index, speed=64.0, follow=follow)
    assert [m.get("data", m["type"]) for _, m in out] == [
        "first\r\n",
        "second\r\n",
        "event",
        "last\r\n",
        "end",
    ]
    assert polls == [0, 1]


# --- the HTTP stream -------------------------------------------------------------------------


def test_stream_over_http_with_events(tmp_path, owner_client):
    session = session_with_recording(tmp_path, [(0.0, "hello\r\n"), (0.02, "Traceback\r\n")])
    make_event(session, offset_seconds=0.02)
    messages = stream_messages(owner_client, session.session_id, speed=64)
    assert [m["type"] for m in messages] == ["o", "o", "event", "end"]
    assert messages[2]["event"] == event_to_dict(ExtractionEvent.objects.get())


def test_a_taps_non_ascii_output_replays_character_for_character(tap_env, owner_client):
    # The recording is UTF-8 JSON (orjson), with U+2028 and NEL raw: they must not split lines.
    text = "✓ café 日本語 \u2028 next\x85 done \U0001f600\n"
    code = f"import sys; sys.stdout.buffer.write({text.encode()!r})"
    result = run_tap(tap_env, "--pipe", "--", *py(code))
    assert result.returncode == 0 and result.stdout == text.encode()
    session = ProcessSession.objects.get()
    assert "日本語 \u2028".encode() in Path(session.recording_path).read_bytes()
    messages = stream_messages(owner_client, session.session_id, speed=64)
    assert "".join(m["data"] for m in messages if m["type"] == "o") == text
    assert output_of(session.recording_path) == text


def test_stream_as_server_sent_events(tmp_path, owner_client):
    session = session_with_recording(tmp_path, [(0.0, "a"), (0.01, "b")])
    response = owner_client.get(
        reverse("st-api-replay", args=[session.session_id]), {"format": "sse", "speed": 64}
    )
    assert response["Content-Type"] == "text/event-stream"
    frames = body_of(response).decode().split("\n\n")
    assert frames[0] == 'data: {"t": 0.0, "type": "o", "data": "a"}'
    assert frames[-2] == 'data: {"type": "end"}'


# Each parameter's values that are refused.
BAD_VALUES = {
    "speed": ["0", "-1", "65", "fast", "nan", "inf"],
    "start": ["-1", "soon", "99999"],
    "idle_time_limit": ["0", "x"],
    "format": ["xml"],
}


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in BAD_VALUES.items() for value in values]
)
def test_bad_parameters_are_400_naming_the_parameter(tmp_path, owner_client, name, value):
    session = session_with_recording(tmp_path, [(0.0, "a"), (5.0, "b")])
    response = owner_client.get(reverse("st-api-replay", args=[session.session_id]), {name: value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [name]


def test_unknown_session_is_404(owner_client):
    for name in ("st-api-replay", "st-api-session-recording", "st-api-replay-index"):
        assert owner_client.get(reverse(name, args=["nope"])).status_code == 404


def test_session_without_recording_is_404(db, owner_client):
    session = make_session(recording_path="/nonexistent/x.cast")
    response = owner_client.get(reverse("st-api-replay", args=[session.session_id]))
    assert response.status_code == 404


def test_anonymous_is_401(db, tmp_path, outsider_client):
    session = session_with_recording(tmp_path, [(0.0, "a")])
    for name in (
        "st-api-replay",
        "st-api-session-recording",
        "st-api-replay-index",
        "st-api-replay-range",
    ):
        response = outsider_client.get(reverse(name, args=[session.session_id]), {"start": 0})
        assert response.status_code == 401, name


def test_browser_session_login_works_too(tmp_path, owner, client):
    session = session_with_recording(tmp_path, [(0.0, "a")])
    client.force_login(owner)
    response = client.get(reverse("st-api-session-recording", args=[session.session_id]))
    assert response.status_code == 200


# --- the page's range API --------------------------------------------------------------------


def test_range_from_a_time_then_by_cursor(tmp_path, owner_client):
    chunks = [(i * 0.5, f"line {i}\r\n") for i in range(40)]
    session = session_with_recording(tmp_path, chunks)
    url = reverse("st-api-replay-range", args=[session.session_id])
    body = owner_client.get(url, {"start": 10}).json()
    assert body["keyframe"].endswith("line 19\r\n")
    assert body["frames"][0] == [10.0, "o", "line 20\r\n"]
    assert body["eof"] is True and body["live"] is False
    assert body["duration"] == 19.5
    again = owner_client.get(url, {"cursor": body["cursor"]}).json()
    assert again["frames"] == [] and again["eof"] is True


def test_range_needs_start_or_cursor(tmp_path, owner_client):
    session = session_with_recording(tmp_path, [(0.0, "a")])
    url = reverse("st-api-replay-range", args=[session.session_id])
    assert owner_client.get(url).status_code == 400
    assert owner_client.get(url, {"cursor": "x"}).json()["errors"] == {
        "cursor": ["must be a cursor from a previous range"]
    }


def test_index_lists_events_for_the_seek_bar(tmp_path, owner_client):
    session = session_with_recording(tmp_path, [(0.0, "a"), (9.0, "b")])
    make_event(session, event_type="prompt", offset_seconds=9.0)
    body = owner_client.get(reverse("st-api-replay-index", args=[session.session_id])).json()
    assert body["duration"] == 9.0 and (body["cols"], body["rows"]) == (80, 24)
    assert [e["event_type"] for e in body["events"]] == ["prompt"]


# --- a real tap recording: markers, export, asciinema, import round trip ---------------------

TAP_PROGRAM = (
    "import time\n"
    "print('starting up')\n"
    "print('Traceback (most recent call last):')\n"
    "print('  File \"x.py\", line 1, in <module>')\n"
    "print('ValueError: bad')\n"
    "time.sleep(0.3)\n"
    "print('WARNING: low disk')\n"
    "print('caf\\u00e9 \\u2713 \\x1b[31mred\\x1b[0m')\n"
    "print('loss=0.25')\n"
)


@pytest.fixture
def tapped_session(tap_env) -> ProcessSession:
    result = run_tap(tap_env, "--pipe", "--agent", "replayer", "--", *py(TAP_PROGRAM))
    assert result.returncode == 0, result.stderr
    return ProcessSession.objects.get(agent_name="replayer")


def test_markers_are_present_and_ordered_in_a_tap_recording(tapped_session):
    recorded = list(iter_events(tapped_session.recording_path))
    markers = [e for e in recorded if e.code == "m"]
    events = list(tapped_session.events.order_by("seq"))
    assert [e.event_type for e in events] == ["error", "warning", "metric"]
    assert [m.data.split(":")[0] for m in markers] == [e.event_type for e in events]
    assert markers[0].data == "error: Traceback (most recent call last):"
    assert [m.offset for m in markers] == sorted(m.offset for m in markers)
    for marker, event in zip(markers, events, strict=True):
        assert marker.offset == pytest.approx(event.offset_seconds, abs=1e-6)
        # A marker sits after the output it labels.
        before = "".join(e.data for e in recorded[: recorded.index(marker)] if e.code == "o")
        assert event.content.splitlines()[0] in before


def export(client, session_id: str, target: Path) -> Path:
    response = client.get(reverse("st-api-session-recording", args=[session_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-asciicast"
    assert response["Content-Disposition"] == f'attachment; filename="{session_id}.cast"'
    target.write_bytes(b"".join(response.streaming_content))
    return target


def test_export_is_the_recording_and_asciinema_cat_reproduces_it(
    tapped_session, owner_client, tmp_path
):
    exported = export(owner_client, tapped_session.session_id, tmp_path / "export.cast")
    assert exported.read_bytes() == Path(tapped_session.recording_path).read_bytes()
    result = subprocess.run(
        [str(ASCIINEMA), "cat", str(exported)], capture_output=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == output_of(exported).encode()
    assert "café ✓ \x1b[31mred" in result.stdout.decode()


def imported_session(path: Path, agent: str) -> ProcessSession:
    call_command("import_cast", str(path), agent=agent, stdout=open("/dev/null", "w"))  # noqa: SIM115
    return ProcessSession.objects.get(agent_name=agent)


def test_export_import_export_keeps_the_output_byte_for_byte(
    tapped_session, owner_client, tmp_path, settings
):
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "recordings")}
    first = export(owner_client, tapped_session.session_id, tmp_path / "first.cast")
    session = imported_session(first, "reimported")
    second = export(owner_client, session.session_id, tmp_path / "second.cast")
    assert output_of(second).encode() == output_of(first).encode()
    assert [e.offset for e in iter_events(second) if e.code == "o"] == [
        e.offset for e in iter_events(first) if e.code == "o"
    ]
    # The extractor ran over it again: the same events and markers.
    assert list(session.events.order_by("seq").values_list("event_type", "content")) == list(
        tapped_session.events.order_by("seq").values_list("event_type", "content")
    )
    assert [e.data for e in iter_events(second) if e.code == "m"] == [
        e.data for e in iter_events(first) if e.code == "m"
    ]
    assert session.status == SessionStatus.COMPLETED


@pytest.mark.django_db
def test_import_a_v3_recording(tmp_path, settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "recordings")}
    source = tmp_path / "v3demo.cast"
    lines = [
        {"version": 3, "term": {"cols": 100, "rows": 30}, "timestamp": 1764151200},
        [0.25, "o", "hello\r\n"],
        [0.5, "o", "Traceback (most recent call last):\r\n"],
        [0.1, "o", "ValueError: v3\r\n"],
        [1.0, "m", "a marker from elsewhere"],
        [2.0, "x", "0"],
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    session = imported_session(source, "v3agent")
    assert (session.term_cols, session.term_rows) == (100, 30)
    recording = Path(session.recording_path)
    offsets = [round(e.offset, 6) for e in iter_events(recording) if e.code == "o"]
    assert offsets == [0.25, 0.75, 0.85]
    assert (
        output_of(recording) == "hello\r\nTraceback (most recent call last):\r\nValueError: v3\r\n"
    )
    assert list(session.events.values_list("event_type", flat=True)) == ["error"]


@pytest.mark.django_db
def test_import_a_plain_log(tmp_path, settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "recordings")}
    source = tmp_path / "build.log"
    text = "compiling\nERROR: something failed\n" + "".join(f"line {i}\n" for i in range(20000))
    source.write_text(text)
    session = imported_session(source, "logagent")
    assert output_of(session.recording_path) == text
    assert session.events.filter(event_type="error").exists()


def test_replay_of_a_running_tap_catches_up_and_follows(tap_env, owner_client):
    """A session still running: the stream reads what is there, then follows until the exit."""
    program = (
        "import time\nfor i in range(6):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.3)\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "tap",
            "--pipe",
            "--agent",
            "follow",
            "--",
            *py(program),
        ],
        env=tap_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        session = None
        while time.monotonic() < deadline:
            session = ProcessSession.objects.filter(agent_name="follow").first()
            if session and session.recording_path and Path(session.recording_path).exists():
                break
            time.sleep(0.05)
        assert session is not None and session.is_live
        result: dict = {}

        def consume():
            result["messages"] = stream_messages(owner_client, session.session_id, speed=64)

        thread = threading.Thread(target=consume)
        thread.start()
        thread.join(60)
        assert not thread.is_alive()
    finally:
        proc.wait(30)
    text = "".join(m["data"] for m in result["messages"] if m["type"] == "o")
    assert text.replace("\r\n", "\n") == "".join(f"tick {i}\n" for i in range(6))
    assert result["messages"][-1] == {"type": "end"}


# --- the page --------------------------------------------------------------------------------


def test_replay_page_passes_urls_as_data_attributes(tmp_path, owner, client):
    session = session_with_recording(tmp_path, [(0.0, "a")])
    client.force_login(owner)
    response = client.get(reverse("st-session-replay", args=[session.session_id]))
    assert response.status_code == 200
    html = response.content.decode()
    index_url = reverse("st-api-replay-index", args=[session.session_id])
    assert f'data-index-url="{index_url}"' in html
    assert "js/replay.js" in html
    assert "<script>" not in html  # no inline scripts: the CSP allows 'self' only
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_session_whose_recording_is_gone_says_so_instead_of_a_broken_player(
    tmp_path, owner, client
):
    session = session_with_recording(tmp_path, [(0.0, "a")])
    Path(session.recording_path).unlink()
    client.force_login(owner)
    response = client.get(reverse("st-session-replay", args=[session.session_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No recording to replay" in html
    assert "is no longer at" in html
    assert "js/replay.js" not in html and "download .cast" not in html


def test_replay_page_needs_a_login(db, tmp_path, client):
    session = session_with_recording(tmp_path, [(0.0, "a")])
    response = client.get(reverse("st-session-replay", args=[session.session_id]))
    assert response.status_code == 302 and "/login/" in response["Location"]
