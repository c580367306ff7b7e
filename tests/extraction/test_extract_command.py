"""`manage.py extract`: runs without a database, prints events as text or JSON lines."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extraction.event_shape import EVENT_FIELDS

ROOT = Path(__file__).resolve().parents[2]
LOG = "start\nError: first\nloss=0.5\n```py\nError: not real\n```\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nKeyError: 'k'\n"


def extract(*args, stdin=None):
    out = io.StringIO()
    call_command("extract", *args, stdout=out)
    return out.getvalue()


def test_json_output_one_object_per_event(tmp_path):
    path = tmp_path / "out.log"
    path.write_text(LOG)
    rows = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert [r["type"] for r in rows] == ["error", "metric", "code_block", "error"]
    first = rows[0]
    # The API's EVENT keys, and the old names kept for one release.
    assert set(first) == {"file", *EVENT_FIELDS, "type", "start_line", "end_line"}
    assert (first["event_type"], first["line_start"], first["line_end"], first["seq"]) == (
        "error",
        2,
        2,
        1,
    )
    assert (first["file"], first["start_line"], first["end_line"], first["rule"]) == (
        str(path),
        2,
        2,
        "error_generic",
    )
    assert rows[3]["start_line"] == 7 and rows[3]["end_line"] == 9


def test_text_output_is_a_summary_with_counts(tmp_path):
    path = tmp_path / "out.log"
    path.write_text(LOG)
    out = extract(str(path))
    assert f"{path}:2" in out and "error_generic" in out and "Error: first" in out
    assert out.strip().splitlines()[-1] == "-- 4 events: 1 code_block, 2 error, 1 metric"


def test_invalid_utf8_and_multibyte_split_across_chunks(tmp_path):
    path = tmp_path / "bin.log"
    data = b"x" * (64 * 1024 - 1) + "é\n".encode() + b"Error: bad \xff\xfe bytes\n"
    data = b"\n".join([b"\xffError: junk", data])
    path.write_bytes(data)
    rows = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert [r["start_line"] for r in rows] == [3]
    assert rows[0]["content"] == "Error: bad \ufffd\ufffd bytes"


def test_asciicast_recording_is_read_as_its_output(tmp_path):
    path = tmp_path / "session.cast"
    events = [
        [0.1, "o", "hello\r\n"],
        [0.2, "i", "Error: typed input\r"],
        [0.3, "o", "Err"],
        [0.4, "o", "or: boom\r\n"],
    ]
    path.write_text(
        json.dumps({"version": 2, "width": 80, "height": 24})
        + "\n"
        + "\n".join(map(json.dumps, events))
        + "\n"
    )
    rows = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert [(r["start_line"], r["content"]) for r in rows] == [(2, "Error: boom")]


def _write_cast(path, header, events, comments=()):
    lines = [json.dumps(header), *comments, *map(json.dumps, events)]
    path.write_text("\n".join(lines) + "\n")


V3_EVENTS = [
    [0.1, "o", "hello\r\n"],
    [0.1, "i", "Error: typed input\r"],
    [0.1, "o", "Err"],
    [0.1, "o", "or: boom\r\n"],
    [0.2, "x", "0"],
]


def test_asciicast_v3_recording_is_read_as_its_output(tmp_path):
    path = tmp_path / "session.cast"
    _write_cast(path, {"version": 3, "term": {"cols": 80, "rows": 24}}, V3_EVENTS, ["# a note"])
    rows = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert [(r["start_line"], r["content"]) for r in rows] == [(2, "Error: boom")]


def test_asciicast_on_stdin_is_read_as_its_output(tmp_path, monkeypatch):
    path = tmp_path / "session.cast"
    _write_cast(path, {"version": 3, "term": {"cols": 80, "rows": 24}}, V3_EVENTS)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    rows = [json.loads(line) for line in extract("-", "--json").splitlines()]
    assert [(r["file"], r["content"]) for r in rows] == [("-", "Error: boom")]


@pytest.mark.parametrize("version", [2, 3])
def test_extract_reads_the_output_that_import_cast_reads(tmp_path, version):
    from extraction.management.commands.extract import text_of
    from sessions.recording import iter_events

    path = tmp_path / "session.cast"
    events = [*V3_EVENTS, [0.1, "r", "100x30"], [0.1, "m", "marker"], [0.1, "o", "bye"]]
    _write_cast(path, {"version": version, "width": 80, "height": 24}, events, ["# note"])
    with open(path, "rb") as stream:
        read = [(c.offset, c.code, c.data) for c in text_of(stream)]
    # The same events at the same times: extract's idle points are import_cast's.
    assert read == [(e.offset, e.code, e.data) for e in iter_events(path)]


def test_a_json_log_is_not_taken_for_a_recording(tmp_path):
    path = tmp_path / "out.log"
    path.write_text('{"version": 4, "msg": "x"}\nError: plain\n')
    rows = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert [r["start_line"] for r in rows] == [2]


def test_help_names_the_formats_it_reads():
    from extraction.management.commands.extract import Command

    text = " ".join(Command().create_parser("manage.py", "extract").format_help().split())
    assert "plain text or log files" in text and "asciicast (.cast) recordings" in text


def test_json_metadata_holds_no_secret(tmp_path):
    path = tmp_path / "out.log"
    path.write_text("Error: AWS key AKIAIOSFODNN7EXAMPLE rejected\n")
    (row,) = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(row)
    assert row["metadata"]["message"] == "AWS key [REDACTED:aws_access_key_id] rejected"


def test_user_rules_file(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('disable = ["error_generic"]\n')
    path = tmp_path / "out.log"
    path.write_text("Error: x\n")
    assert extract(str(path), "--json", "--rules", str(rules)) == ""


def test_missing_file_exits_2(tmp_path):
    with pytest.raises(CommandError) as info:
        extract(str(tmp_path / "missing.log"))
    assert info.value.returncode == 2 and "missing.log" in str(info.value)


def test_bad_rules_file_exits_2(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nname = 'x'\npattern = '('\n")
    with pytest.raises(CommandError) as info:
        extract(str(tmp_path), "--rules", str(rules))
    assert info.value.returncode == 2 and "rule 'x'" in str(info.value)


def test_command_runs_without_a_database_and_reads_stdin(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "streamtap_site.settings", "PATH": "/usr/bin:/bin",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "extract", "-", "--json"],
        input=b"npm ERR! code E404\nnpm ERR! 404\n",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    (row,) = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert row["file"] == "-" and row["rule"] == "npm_error" and row["end_line"] == 2


def test_missing_file_exit_code_from_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "extract", str(tmp_path / "nope")],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2 and b"nope" in result.stderr


# --- issue 15: long lines and terminal control characters -----------------------------------


def _cast_with_one_long_event(path: Path, size: int) -> Path:
    with open(path, "w") as f:
        f.write(json.dumps({"version": 2, "width": 80, "height": 24}) + "\n")
        f.write('[0.1, "o", "ERROR: start\\n')
        block = "ab" * (1 << 19)
        for _ in range(size >> 20):
            f.write(block)
        f.write('\\nERROR: end\\n"]\n')
    return path


@pytest.mark.slow
def test_a_cast_with_a_50_mb_line_is_read_in_linear_time(tmp_path):
    # Quadratic buffering took minutes here; linear reading takes about a second (the test's
    # timeout is the bound: benchmark figures are in the report, not in an assert).
    path = _cast_with_one_long_event(tmp_path / "long.cast", 50 << 20)
    rows = [json.loads(line) for line in extract(str(path), "--json").splitlines()]
    assert [(r["start_line"], r["content"]) for r in rows] == [
        (1, "ERROR: start"),
        (3, "ERROR: end"),
    ]


def test_a_cast_line_past_the_limit_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    from extraction.management.commands import extract as extract_module

    monkeypatch.setattr(extract_module, "MAX_CAST_LINE", 1 << 20)
    path = _cast_with_one_long_event(tmp_path / "huge.cast", 2 << 20)
    with pytest.raises(CommandError) as refused:
        extract(str(path))
    assert refused.value.returncode == 2
    assert str(refused.value) == (
        "line 2 of the recording is longer than 1 MiB: cut it or extract the output as a log"
    )


def test_c1_and_other_control_characters_do_not_reach_the_text_output(tmp_path):
    log = tmp_path / "controls.log"
    log.write_bytes("Error: bad \u009b31m red \u009d0;title\x07 done\n".encode())
    out = extract(str(log))
    assert not any("\x00" <= c < " " and c != "\n" or "\x7f" <= c <= "\x9f" for c in out)
    assert "\\x9b31m red \\x9d0;title\\x07 done" in out


def test_c1_control_characters_are_escaped_in_json_output(tmp_path):
    log = tmp_path / "controls.log"
    log.write_bytes("Error: bad \u009b31m red\n".encode())
    out = extract(str(log), "--json")
    assert "\u009b" not in out and "\\u009b31m" in out
    assert json.loads(out)["content"] == "Error: bad \u009b31m red"
