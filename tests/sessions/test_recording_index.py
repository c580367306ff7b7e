"""The recording index: time → byte offset, cached beside the recording, keyframes for seeks."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from sessions.recording import AsciicastWriter, iter_events
from sessions.replay import INDEX_SUFFIX, RecordingIndex


def write_recording(path: Path, lines: int, *, seconds: float = 3600.0, width: int = 80) -> Path:
    """A v2 recording of `lines` output chunks, one line each, evenly over `seconds`."""
    step = seconds / lines
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"version": 2, "width": width, "height": 24, "timestamp": 0}) + "\n")
        batch = []
        for i in range(lines):
            text = f"line {i:07d} " + "x" * 60 + "\r\n"
            batch.append(f'[{i * step:.6f}, "o", {json.dumps(text)}]\n')
            if len(batch) == 10000:
                f.write("".join(batch))
                batch = []
        f.write("".join(batch))
    return path


def first_line_at_or_after(path: Path, t: float):
    return next((ev for ev in iter_events(path) if ev.offset >= t), None)


def test_seek_finds_the_first_line_at_or_after_the_offset(tmp_path):
    path = write_recording(tmp_path / "a.cast", 20_000, seconds=600)
    index = RecordingIndex.open(path, step=4096)
    assert len(index.points) > 100
    for t in [0.0, 0.01, 12.345, 299.97, 300.0, 599.9]:
        seek = index.seek(t)
        frames, _ = index.read(seek.cursor, max_bytes=1)
        expected = first_line_at_or_after(path, t)
        assert frames[0].t == pytest.approx(expected.offset)
        assert frames[0].data == expected.data


def test_seek_reads_only_near_the_point(tmp_path):
    path = write_recording(tmp_path / "a.cast", 50_000, seconds=3600)
    index = RecordingIndex.open(path, step=16 * 1024)
    seek = index.seek(3000.0, keyframe_bytes=32 * 1024)
    assert seek.bytes_read <= 32 * 1024 + 2 * 16 * 1024
    assert path.stat().st_size > 3_000_000


def test_end_time_and_size_are_known_without_reading_everything(tmp_path):
    path = write_recording(tmp_path / "a.cast", 1000, seconds=100)
    index = RecordingIndex.open(path)
    assert index.end_time == pytest.approx(99.9)
    assert index.size == path.stat().st_size
    assert (index.cols, index.rows) == (80, 24)


def test_index_is_cached_beside_the_recording(tmp_path):
    path = write_recording(tmp_path / "a.cast", 5000, seconds=100)
    first = RecordingIndex.open(path, step=4096)
    cache = path.with_name(path.name + INDEX_SUFFIX)
    assert cache.is_file()
    second = RecordingIndex(path, step=4096)
    second._load_cache((path.stat().st_dev, path.stat().st_ino))
    assert [(p.t, p.byte) for p in second.points] == [(p.t, p.byte) for p in first.points]
    assert second.refresh() is False  # nothing new: the cache was enough


def test_index_grows_with_a_recording_that_is_still_written(tmp_path):
    path = tmp_path / "live.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=time.time())
    for i in range(2000):
        writer.output(i * 0.1, f"early {i}\r\n" + "y" * 50)
    index = RecordingIndex.open(path, step=4096)
    points_before = len(index.points)
    assert index.end_time == pytest.approx(199.9)
    for i in range(2000, 4000):
        writer.output(i * 0.1, f"late {i}\r\n" + "y" * 50)
    writer.close()
    assert index.refresh() is True
    assert len(index.points) > points_before
    assert index.end_time == pytest.approx(399.9)
    frames, _ = index.read(index.seek(300.0).cursor, max_bytes=1)
    assert frames[0].data.startswith("late 3000")
    # A reader in another process (another request) extends the cached index too.
    assert RecordingIndex.open(path, step=4096).end_time == pytest.approx(399.9)


def test_a_half_written_last_line_is_left_for_later(tmp_path):
    path = write_recording(tmp_path / "a.cast", 100, seconds=10)
    with open(path, "a") as f:
        f.write('[10.5, "o", "incomp')
    index = RecordingIndex.open(path)
    assert index.end_time == pytest.approx(9.9)
    frames, cursor = index.read(index.start())
    assert len(frames) == 100
    with open(path, "a") as f:
        f.write('lete"]\n')
    index.refresh()
    assert index.end_time == pytest.approx(10.5)
    more, _ = index.read(cursor)
    assert [f.data for f in more] == ["incomplete"]


def test_a_replaced_recording_is_indexed_afresh(tmp_path):
    path = write_recording(tmp_path / "a.cast", 3000, seconds=300)
    RecordingIndex.open(path)
    path.unlink()
    write_recording(path, 100, seconds=5)
    index = RecordingIndex.open(path)
    assert index.end_time == pytest.approx(4.95)
    assert index.size == path.stat().st_size


def test_keyframe_starts_at_the_last_screen_clear(tmp_path):
    path = tmp_path / "tui.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=0)
    writer.output(1.0, "old screen\r\n")
    writer.output(2.0, "\x1b[H\x1b[2Jfresh screen\r\n")
    writer.output(3.0, "after\r\n")
    writer.output(4.0, "later\r\n")
    writer.close()
    seek = RecordingIndex.open(path).seek(3.5)
    assert seek.keyframe == "\x1b[H\x1b[2Jfresh screen\r\nafter\r\n"


def test_keyframe_is_the_recent_output_when_the_screen_scrolls(tmp_path):
    path = write_recording(tmp_path / "a.cast", 20_000, seconds=2000)
    seek = RecordingIndex.open(path, step=4096).seek(1000.0, keyframe_bytes=8192)
    lines = seek.keyframe.split("\r\n")
    assert lines[0].startswith("line ")  # a whole line, not the middle of one
    assert seek.keyframe.endswith("line 0009999 " + "x" * 60 + "\r\n")
    assert len(lines) > 24  # more than a screen


def test_size_at_follows_resizes(tmp_path):
    path = tmp_path / "r.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=0)
    writer.output(1.0, "a")
    writer.resize(2.0, 120, 40)
    writer.output(3.0, 'quoted ", "r", "1x1" is data')
    writer.resize(4.0, 100, 30)
    writer.close()
    index = RecordingIndex.open(path)
    assert index.size_at(1.5) == (80, 24)
    assert index.resizes == [(2.0, 120, 40), (4.0, 100, 30)]
    assert index.size_at(3.0) == (120, 40)
    assert index.seek(5.0).cols == 100


def test_v3_relative_times_are_made_absolute(tmp_path):
    path = tmp_path / "v3.cast"
    lines = [json.dumps({"version": 3, "term": {"cols": 90, "rows": 30}})]
    lines += [json.dumps([0.5, "o", f"chunk {i}\r\n"]) for i in range(2000)]
    path.write_text("\n".join(lines) + "\n")
    index = RecordingIndex.open(path, step=2048)
    assert (index.cols, index.rows) == (90, 30)
    assert index.end_time == pytest.approx(1000.0)
    assert len(index.points) > 5
    frames, _ = index.read(index.seek(500.2).cursor, max_bytes=1)
    assert frames[0].t == pytest.approx(500.5)
    assert frames[0].data == "chunk 1000\r\n"


@pytest.mark.slow
def test_a_one_hour_million_line_recording_seeks_anywhere_reading_little(tmp_path):
    # How fast this is belongs to bench/bench_replay.py; here: correct, and bounded reads.
    path = write_recording(tmp_path / "big.cast", 1_000_000, seconds=3600)
    index = RecordingIndex.open(path)
    assert index.end_time == pytest.approx(3600, abs=1)
    rng = random.Random(5)
    for _ in range(50):
        target = rng.uniform(0, 3600)
        seek = index.seek(target)
        frames, _ = index.read(seek.cursor, max_bytes=256 * 1024)
        assert frames and frames[0].t >= target - 1e-6
        assert frames[0].t - target < 1.0  # the first frame after the point, not a later one


def test_recording_is_utf8_json_and_reads_back_every_character(tmp_path):
    path = tmp_path / "u.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=0)
    # U+2028 and NEL stay raw, as asciinema writes them: every reader splits at \n only.
    text = '✓ café 日本語 \x1b[31mred\x1b[0m \U0001f600 "quoted" \\ \x00 \u2028 \x85\r\n'
    writer.output(1.0, text)
    writer.marker(1.0, "error: ✗ failed")
    writer.close()
    raw = path.read_bytes()
    assert "✓ café 日本語".encode() in raw  # asciicast's own encoding, not \u escapes
    assert raw.count(b"\n") == 3  # header, output, marker: line ends only between lines
    events = [(ev.code, ev.data) for ev in iter_events(path)]
    assert events == [("o", text), ("m", "error: ✗ failed")]
    assert [json.loads(line)[2] for line in raw.decode().split("\n")[1:-1]] == [
        text,
        "error: ✗ failed",
    ]
    index = RecordingIndex.open(path)
    frames, _ = index.read(index.seek(0).cursor, max_bytes=1 << 20)
    assert [(f.code, f.data) for f in frames] == [("o", text), ("m", "error: ✗ failed")]


def test_recording_escapes_a_lone_surrogate_which_utf8_cannot_hold(tmp_path):
    path = tmp_path / "s.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=0)
    text = "half a pair \ud83d then ✓"
    writer.output(1.0, text)
    writer.close()
    raw = path.read_bytes()
    assert raw.isascii()
    assert json.loads(raw.decode().splitlines()[1]) == [1.0, "o", text]
