"""RecordingFront: what the reader does per chunk (real redactor and recorder, fake extraction)."""

import threading

from extraction.engine import StreamRedactor
from sessions.recording import AsciicastWriter, iter_events
from sessions.tap.front import RecordingFront

from .fakes import FakeExtraction


def front(tmp_path, redact=True, **kwargs):
    recorder = AsciicastWriter(tmp_path / "r.cast", width=80, height=24, started=0.0)
    extraction = FakeExtraction()
    f = RecordingFront(
        extraction=extraction,
        redactor=StreamRedactor() if redact else None,
        recorder=recorder,
        **kwargs,
    )
    return f, extraction


def test_a_chunk_is_recorded_then_handed_to_the_extraction_and_published(tmp_path):
    published = []
    f, extraction = front(tmp_path, on_output=lambda *a: published.append(a))
    f.feed(0.5, "hello\n")
    assert extraction.named("feed") == [(0.5, "hello\n")]
    assert published == [(1, 0.5, "hello\n")]
    f.end_output()
    f.close_recording()
    assert [(e.code, e.data) for e in iter_events(tmp_path / "r.cast")] == [("o", "hello\n")]


def test_the_extraction_gets_the_redacted_text_the_recording_holds(tmp_path):
    f, extraction = front(tmp_path)
    f.feed(0.1, "token ghp_" + "a" * 36 + "\n")
    f.end_output()
    f.close_recording()
    handed = "".join(c[1] for c in extraction.named("feed"))
    recorded = "".join(e.data for e in iter_events(tmp_path / "r.cast") if e.code == "o")
    assert handed == recorded
    assert "ghp_" + "a" * 36 not in recorded


def test_an_idle_point_lets_out_held_text_before_the_extraction_looks_for_a_prompt(tmp_path):
    f, extraction = front(tmp_path)
    f.feed(0.1, "Continue? [y/N] ")
    f.idle()
    kinds = [c[0] for c in extraction.calls]
    assert kinds[-1] == "idle"
    assert "".join(c[1] for c in extraction.named("feed")) == "Continue? [y/N] "


def test_markers_from_another_thread_and_output_from_the_reader_both_reach_the_recording(
    tmp_path,
):
    f, _ = front(tmp_path, redact=False)

    def markers():
        for i in range(0, 500, 5):
            f.markers([(n / 1000, f"error: {n}") for n in range(i, i + 5)])

    t = threading.Thread(target=markers)
    t.start()
    for i in range(500):
        f.feed(i / 1000, f"line {i}\n")
    t.join()
    f.close_recording()
    events = list(iter_events(tmp_path / "r.cast"))
    assert sum(e.code == "m" for e in events) == 500
    assert sum(e.code == "o" for e in events) == 500


def test_a_resize_is_recorded_and_reaches_the_extractions_screen(tmp_path):
    f, extraction = front(tmp_path)
    f.resize(1.0, 100, 30)
    f.close_recording()
    assert extraction.named("resize") == [(100, 30)]
    assert [(e.code, e.data) for e in iter_events(tmp_path / "r.cast")] == [("r", "100x30")]
