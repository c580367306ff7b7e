"""One pipeline, four entry points (issue 18 item 3): `extract FILE --json`, `import_cast FILE`
and `tap -- cat FILE` find the same events in the same input, on every fixture in tests/.

Every fixture goes through the three paths at engine level (fast: no process, no database):

- extract: the command's own reading of the file (``Command.extract_file``);
- import_cast: the recording import_cast stores (a plain file becomes one by
  ``rebuild._log_as_cast``), read back by the recording reader and replayed with its idle points;
- tap: the output as the tap's reader sees it, bytes in terminal-sized reads decoded as it
  decodes them, through the tap's reader front (redaction, hold-back) into the pipeline the tap
  builds for its extraction process, with an idle point at each quiet gap as the reader makes
  them.

A representative subset also runs the real commands: `extract --json`, `import_cast` into the
database and a real `tap --pipe -- cat FILE` child process.

Compared: every field of what was found and its seq; not ids, times or the agent's name.
"""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from extraction.engine import StreamRedactor
from extraction.engine.pipeline import IDLE_SECONDS, SETTLE_SECONDS, Chunk, replay
from extraction.event_shape import FOUND_FIELDS
from extraction.management.commands.extract import Command as ExtractCommand
from extraction.models import ExtractionEvent
from sessions import rebuild
from sessions.recording import RecordingError, iter_events, read_header
from sessions.tap.front import RecordingFront
from sessions.tap.runtime import Tap, TapOptions

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
# Program output kept as test data. The corpus's *.labels.jsonl files are its answer keys (which
# line is which event), not output anyone taps.
FIXTURES = sorted(
    path
    for folder in (TESTS / "fixtures", TESTS / "corpus")
    for path in folder.rglob("*")
    if path.is_file()
    and path.suffix in (".log", ".jsonl", ".cast", ".txt")
    and not path.name.endswith(".labels.jsonl")
)
# What a PTY read hands over at most; smaller than the pipe's 64 KiB, so chunks split more.
TERMINAL_READ = 4096


def found(rows) -> list[dict]:
    return [{key: row[key] for key in ("seq", *FOUND_FIELDS)} for row in rows]


def is_recording(path: Path) -> bool:
    try:
        read_header(path)
    except (RecordingError, UnicodeDecodeError):
        return False
    return True


def output_events(path: Path) -> list[Chunk]:
    """The program's output with its timing: a recording's "o" events, a plain file at time 0."""
    if is_recording(path):
        return [Chunk(e.offset, e.code, e.data) for e in iter_events(path) if e.code == "o"]
    return [Chunk(0.0, "o", path.read_bytes().decode("utf-8", "replace"))]


def extract_rows(path: Path) -> list[dict]:
    return list(ExtractCommand().extract_file(str(path), None))


def import_rows(path: Path, workdir: Path) -> list[dict]:
    source = path if is_recording(path) else rebuild._log_as_cast(path, 0.0, 80, 24, workdir)
    pipeline = rebuild.recording_pipeline(redact=True)
    return [row for rows in replay(pipeline, iter_events(source)) for row in rows]


def tap_rows(path: Path) -> list[dict]:
    """What a tap of a program printing this output stores: the reader's front redacts and
    hands the text on; the extraction's pipeline gets it already redacted."""
    rows: list[dict] = []
    pipeline = Tap(TapOptions(argv=["cat", str(path)], use_pty=False))._pipeline(80, 24)
    pipeline.on_events = rows.extend  # as the extraction process takes them
    front = RecordingFront(extraction=pipeline, redactor=StreamRedactor())
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    previous = None
    for chunk in output_events(path):
        if previous is not None and chunk.offset - previous >= SETTLE_SECONDS:
            front.settle()
            if chunk.offset - previous >= IDLE_SECONDS:
                front.idle()
                front.release_overdue(chunk.offset)
        data = chunk.data.encode()
        for start in range(0, len(data), TERMINAL_READ):
            text = decoder.decode(data[start : start + TERMINAL_READ])
            if text:
                front.feed(chunk.offset, text)
        previous = chunk.offset
    tail = decoder.decode(b"", final=True)
    if tail:
        front.feed(front.last_offset, tail)
    front.end_output()
    pipeline.close()
    return rows


def test_every_kind_of_fixture_is_covered():
    suffixes = {path.suffix for path in FIXTURES}
    assert {".log", ".jsonl", ".cast"} <= suffixes
    assert len(FIXTURES) >= 70


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(TESTS)))
def test_extract_import_cast_and_tap_find_the_same_events(path, tmp_path):
    extracted = found(extract_rows(path))
    assert found(import_rows(path, tmp_path)) == extracted
    assert found(tap_rows(path)) == extracted


def test_extract_reads_an_agent_stream_as_the_tap_does():
    """The issue's case: a `codex exec --json` file gave `extract` 2 metrics, the tap 12 events."""
    rows = extract_rows(TESTS / "fixtures" / "agent_streams" / "codex_exec.jsonl")
    assert len(rows) == 12
    assert {row["rule"] for row in rows} >= {"agent_error", "agent_retry"}


def test_extract_holds_a_secret_back_and_redacts_it_as_the_tap_does(tmp_path):
    secret = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
    log = tmp_path / "key.log"
    log.write_text(f"Error: bad key {secret}\n")
    rows = extract_rows(log)
    assert found(rows) == found(tap_rows(log))
    assert rows and secret not in json.dumps(found(rows))


# ---- the real commands, on a representative subset ----

REAL_SUBSET = [
    TESTS / "fixtures" / "agent_streams" / "codex_exec.jsonl",
    TESTS / "fixtures" / "agent_streams" / "claude_stream.jsonl",
    TESTS / "corpus" / "tools" / "pytest.log",
    TESTS / "fixtures" / "real_agents" / "codex-0.171.0-permission.cast",
]


@pytest.fixture
def tap_env(tmp_path, transactional_db, settings):
    from tests.sessions.conftest import database_url

    data = tmp_path / "data"
    data.mkdir()
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "recordings")}
    return {
        **__import__("os").environ,
        "DATABASE_URL": database_url(),
        "STREAMTAP_DATA_DIR": str(data),
        "STREAMTAP_SERVER_URL": "http://127.0.0.1:9",  # nothing listens: live push is off
    }


def stored(mode: str) -> list[dict]:
    events = ExtractionEvent.objects.filter(session__mode=mode).order_by("seq")
    return list(events.values("seq", *FOUND_FIELDS))


@pytest.mark.parametrize("path", REAL_SUBSET, ids=lambda p: p.name)
def test_the_real_commands_store_what_extract_prints(path, tmp_path, tap_env):
    out = StringIO()
    call_command("extract", str(path), "--json", stdout=out)
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    extracted = [{key: row[key] for key in ("seq", *FOUND_FIELDS)} for row in printed]
    assert extracted == found(extract_rows(path))

    call_command("import_cast", str(path), stdout=StringIO())
    assert stored("import") == extracted

    # The tap wraps a program printing the output: the file itself, or a recording's output.
    output = path
    if is_recording(path):
        output = tmp_path / "output.txt"
        output.write_bytes("".join(c.data for c in output_events(path)).encode())
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "tap", "--pipe", "--no-live", "--"]
        + ["cat", str(output)],
        env=tap_env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert stored("pipe") == extracted
