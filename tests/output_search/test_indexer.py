"""The output index: what a program printed, line by line, numbered as its events are."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from extraction.engine import Extractor
from output_search import indexer as indexer_module
from output_search.indexer import (
    LineSplitter,
    OutputIndexer,
    after_batch,
    catch_up_recent,
    index_recording,
)
from output_search.models import OutputIndexState, OutputLine
from output_search.queries import output_window, search
from sessions.models import SessionStatus
from sessions.recording import AsciicastWriter
from tests.factories import make_session


def write_recording(path: Path, chunks: list[str], *, width: int = 80, height: int = 24) -> Path:
    writer = AsciicastWriter(path, width=width, height=height, started=time.time())
    for i, chunk in enumerate(chunks):
        writer.output(i * 0.01, chunk)
    writer.close()
    return path


def lines_of(session) -> dict[int, str]:
    return dict(
        OutputLine.objects.filter(session=session).order_by("line").values_list("line", "text")
    )


# --- splitting ------------------------------------------------------------------------------


def test_lines_are_numbered_across_chunks_as_the_extractor_numbers_them():
    chunks = ["first li", "ne\r\nsecond\r\n\r\nfou", "rth\nfifth", "\n"]
    splitter = LineSplitter()
    found = [line for i, c in enumerate(chunks) for line in splitter.feed(i, 100 * i, c)]
    extractor = Extractor()
    for c in chunks:
        extractor.feed(c)
    assert [(x.number, x.text) for x in found] == [
        (1, "first line"),
        (2, "second"),
        (4, "fourth"),
        (5, "fifth"),
    ]
    assert splitter.lines == extractor.lines == 5


def test_a_line_is_stored_as_shown_ansi_stripped_and_carriage_returns_resolved():
    splitter = LineSplitter()
    found = splitter.feed(
        0, 0, "\x1b[31mE\x1b[0m assert 4 == 5\n 10%\r 50%\r100% done\n\x00bell\x07\n"
    )
    assert [x.text for x in found] == ["E assert 4 == 5", "100% done", "bell"]


def test_each_line_knows_where_it_starts_in_the_recording():
    splitter = LineSplitter()
    a = splitter.feed(0.5, 1000, "one\ntw")
    b = splitter.feed(0.7, 2000, "o\nthree\n")
    c = splitter.feed(0.9, 3000, "four\n")
    assert [(x.number, x.oseq, x.byte, x.col) for x in a + b + c] == [
        (1, 1, 1000, 0),
        (2, 1, 1000, 4),  # began in the first chunk, ended in the second
        (3, 2, 2000, 2),
        (4, 3, 3000, 0),
    ]
    assert b[0].offset == 0.7  # the time the line was complete


def test_an_unterminated_last_line_counts_at_the_end():
    splitter = LineSplitter()
    splitter.feed(0, 0, "done\nno newline")
    assert [(x.number, x.text) for x in splitter.close(1.0)] == [(2, "no newline")]


# --- indexing recordings --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_recording_is_indexed_once_however_often_it_is_asked(tmp_path):
    path = write_recording(tmp_path / "s.cast", ["collected 3 items\n", "E   assert 4 == 5\n"])
    session = make_session(recording_path=str(path))
    assert index_recording(session) == 2
    assert index_recording(session) == 0
    assert lines_of(session) == {1: "collected 3 items", 2: "E   assert 4 == 5"}
    assert OutputIndexState.objects.get(session=session).complete


@pytest.mark.django_db
def test_indexing_resumes_where_it_stopped_while_the_recording_grows(tmp_path):
    path = tmp_path / "live.cast"
    writer = AsciicastWriter(path, width=80, height=24, started=time.time())
    session = make_session(recording_path=str(path), status=SessionStatus.RUNNING)
    writer.output(0.1, "alpha\nbet")
    OutputIndexer(session).catch_up()
    assert lines_of(session) == {1: "alpha"}
    writer.output(0.2, "a\ngamma")
    writer.close()
    OutputIndexer(session).catch_up()
    assert lines_of(session) == {1: "alpha", 2: "beta"}  # gamma may still grow
    session.status = SessionStatus.COMPLETED
    session.save()
    OutputIndexer(session).catch_up()
    assert lines_of(session) == {1: "alpha", 2: "beta", 3: "gamma"}


@pytest.mark.django_db
def test_an_event_and_the_output_line_it_came_from_share_their_line_number(tmp_path):
    source = write_recording(
        tmp_path / "run.cast",
        ["".join(f"step {i}\n" for i in range(1, 41)), "Traceback (most recent call last):\n"]
        + ['  File "a.py", line 1, in <module>\n', "ValueError: bad value\n", "tail\n"],
    )
    call_command("import_cast", str(source))
    from sessions.models import ProcessSession

    session = ProcessSession.objects.get()
    index_recording(session)
    event = session.events.get(event_type="error")
    assert lines_of(session)[event.line_start] == "Traceback (most recent call last):"
    assert lines_of(session)[event.line_end] == "ValueError: bad value"


@pytest.mark.django_db
def test_index_output_command_indexes_old_sessions_and_is_idempotent(tmp_path, capsys):
    a = make_session(recording_path=str(write_recording(tmp_path / "a.cast", ["one\n"])))
    b = make_session(recording_path=str(write_recording(tmp_path / "b.cast", ["two\nthree\n"])))
    call_command("index_output")
    assert "indexed 3 new lines" in capsys.readouterr().out
    call_command("index_output")
    assert "indexed 0 new lines" in capsys.readouterr().out
    call_command("index_output", b.session_id, "--rebuild")
    assert "indexed 2 new lines" in capsys.readouterr().out
    assert lines_of(a) == {1: "one"} and lines_of(b) == {1: "two", 2: "three"}


@pytest.mark.django_db
def test_deleting_a_session_takes_its_lines_out_of_the_search(tmp_path):
    session = make_session(
        recording_path=str(write_recording(tmp_path / "d.cast", ["needle in here\n"]))
    )
    index_recording(session)
    assert [x.line for x in search("needle").lines] == [1]
    session.delete()
    assert search("needle").lines == []


# --- search ---------------------------------------------------------------------------------


@pytest.fixture
def two_sessions(tmp_path, db):
    older = make_session(
        recording_path=str(
            write_recording(
                tmp_path / "old.cast",
                ["E       assert 4 == 5\n", 'say "hi" (NEAR* 100%_done)\n', "back\\slash\n"],
            )
        )
    )
    newer = make_session(
        recording_path=str(
            write_recording(tmp_path / "new.cast", ["ok\n", "e       ASSERT 4 == 5\n", "x\n"])
        )
    )
    index_recording(older)
    index_recording(newer)
    return older, newer


def test_search_finds_a_substring_with_punctuation_in_any_case_newest_session_first(two_sessions):
    older, newer = two_sessions
    page = search("assert 4 == 5")
    assert [(x.session_id, x.line) for x in page.lines] == [(newer.pk, 2), (older.pk, 1)]


@pytest.mark.parametrize(
    "query", ['"hi"', "(NEAR*", "100%_", "%_d", "back\\slash", 'say "hi" (NEAR* 100%_done)']
)
def test_query_syntax_and_wildcards_are_plain_text(two_sessions, query):
    older, _ = two_sessions
    assert [(x.session_id, x.line) for x in search(query).lines] in (
        [(older.pk, 2)],
        [(older.pk, 3)],
    )


def test_what_no_line_holds_finds_nothing_even_with_wildcards(two_sessions):
    assert search("%").lines == [] or all("%" in x.text for x in search("%").lines)
    assert search("_x_").lines == []
    assert search("4 == 6").lines == []


def test_short_queries_scan_instead_of_using_the_trigram_index(two_sessions):
    _, newer = two_sessions
    assert [(x.session_id, x.line) for x in search("ok").lines] == [(newer.pk, 1)]


def test_search_pages_by_position_without_repeats(two_sessions):
    first = search("a", limit=2)
    second = search("a", limit=2, after=tuple(map(int, first.next_after.split("."))))
    seen = [(x.session_id, x.line) for x in first.lines + second.lines]
    assert len(seen) == len(set(seen)) == 4  # assert, ASSERT, say…, back\slash
    assert second.next_after is None


def test_search_within_one_session(two_sessions):
    older, _ = two_sessions
    assert [x.line for x in search("assert", session=older).lines] == [1]


# --- the terminal's window ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_window_around_line_1_of_a_30000_line_run_starts_at_line_1(tmp_path):
    lines = [f"\x1b[32mline {i}\x1b[0m\r\n" for i in range(1, 30_001)]
    chunks = ["".join(lines[i : i + 997]) for i in range(0, len(lines), 997)]
    session = make_session(recording_path=str(write_recording(tmp_path / "long.cast", chunks)))
    window = output_window(session, 1, before=200, after=199)
    assert (window.first_line, window.last_line, window.total_lines) == (1, 400, 30_000)
    assert window.text.startswith("\x1b[32mline 1\x1b[0m\r\n")
    assert window.text.endswith("line 400\x1b[0m\r\n")
    middle = output_window(session, 15_000, before=10, after=10)
    assert (middle.first_line, middle.last_line) == (14_990, 15_010)
    assert middle.text.splitlines()[0] == "\x1b[32mline 14990\x1b[0m"
    # Near either end the window keeps its size.
    end = output_window(session, 30_000, before=5, after=200)
    assert (end.first_line, end.last_line) == (29_795, 30_000)


@pytest.mark.django_db
def test_the_window_finds_its_start_across_blank_lines_and_split_lines(tmp_path):
    chunks = ["a\n\n\n", "\nb", "c\n\nd\n"]  # lines: a, -, -, -, bc, -, d
    session = make_session(recording_path=str(write_recording(tmp_path / "b.cast", chunks)))
    assert output_window(session, 5, before=0, after=0).text == "bc\n"
    assert output_window(session, 4, before=0, after=1).text == "\nbc\n"
    assert output_window(session, 7, before=1, after=0).text == "\nd\n"


def test_recording_rows_are_json_lines(tmp_path):
    path = write_recording(tmp_path / "r.cast", ["x\n"])
    header, row = path.read_text().splitlines()
    assert json.loads(header)["version"] == 2 and json.loads(row)[1] == "o"


@pytest.mark.django_db
def test_an_imported_recording_is_searchable_at_once(tmp_path, settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "recordings")}
    source = write_recording(tmp_path / "elsewhere.cast", ["E       assert 4 == 5\n"])
    call_command("import_cast", str(source))
    assert [x.line for x in search("assert 4 == 5").lines] == [1]


# --- in the tap's writer ---------------------------------------------------------------------


class WriterSeen:
    """What ``after_batch`` reads of the tap's BatchWriter."""

    def __init__(self, session, *, behind: bool, stopping: bool = False):
        self.session, self.behind, self._stopping = session, behind, stopping

    def is_behind(self) -> bool:
        return self.behind


def test_the_taps_writer_leaves_a_floods_lines_to_the_server(db, tmp_path):
    path = write_recording(tmp_path / "flood.cast", [f"line {n}\n" for n in range(1, 201)])
    session = make_session(recording_path=str(path), status=SessionStatus.RUNNING)
    flooded = WriterSeen(session, behind=True)
    after_batch(flooded)
    time.sleep(0.05)  # the budget is a share of the time since the last catch-up
    after_batch(flooded)
    assert lines_of(session) == {}  # the events come first

    # The end, after a flood: the tap's end would wait for the catch-up; the server does it.
    session.status = SessionStatus.COMPLETED
    session.save(update_fields=["status"])
    flooded.behind, flooded._stopping = False, True
    after_batch(flooded)
    assert lines_of(session) == {}
    catch_up_recent(budget_seconds=5)
    assert len(lines_of(session)) == 200
    assert OutputIndexState.objects.get(session=session).complete


def test_a_recording_far_ahead_of_the_index_is_a_flood_though_the_writer_keeps_up(
    db, tmp_path, monkeypatch
):
    """A program printing faster than the extraction keeps the writer waiting for rows, not
    behind, while every core is busy: its lines are the server's too."""
    monkeypatch.setattr(indexer_module, "WRITER_FLOOD_BYTES", 2_000)
    whole = write_recording(tmp_path / "whole.cast", [f"line {n}\n" for n in range(1, 201)])
    header_and_five = b"".join(whole.read_bytes().splitlines(keepends=True)[:6])
    path = tmp_path / "fast.cast"
    path.write_bytes(header_and_five)
    session = make_session(recording_path=str(path), status=SessionStatus.RUNNING)
    writer = WriterSeen(session, behind=False)
    after_batch(writer)
    time.sleep(0.05)  # the budget is a share of the time since the last catch-up
    after_batch(writer)
    assert len(lines_of(session)) == 5  # it kept up
    path.write_bytes(whole.read_bytes())  # the program races ahead (~5 kB more)
    time.sleep(0.05)
    after_batch(writer)
    assert len(lines_of(session)) == 5
    session.status = SessionStatus.COMPLETED
    session.save(update_fields=["status"])
    writer._stopping = True
    after_batch(writer)
    assert len(lines_of(session)) == 5  # the tap's end does not wait for it either
    catch_up_recent(budget_seconds=5)
    assert len(lines_of(session)) == 200


def test_the_taps_writer_that_kept_up_indexes_the_rest_at_the_end(db, tmp_path):
    path = write_recording(tmp_path / "tail.cast", [f"line {n}\n" for n in range(1, 201)])
    session = make_session(recording_path=str(path), status=SessionStatus.COMPLETED)
    after_batch(WriterSeen(session, behind=False, stopping=True))
    assert len(lines_of(session)) == 200
    assert OutputIndexState.objects.get(session=session).complete


def test_the_taps_writer_indexes_as_it_goes_while_it_keeps_up(db, tmp_path):
    path = write_recording(tmp_path / "quiet.cast", [f"line {n}\n" for n in range(1, 201)])
    session = make_session(recording_path=str(path), status=SessionStatus.RUNNING)
    quiet = WriterSeen(session, behind=False)
    after_batch(quiet)
    time.sleep(0.05)
    after_batch(quiet)
    assert lines_of(session)[1] == "line 1"
