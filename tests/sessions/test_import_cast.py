"""import_cast (issue 15 rows 8 and 12): imported recordings are redacted, bad files refused
with one line naming the problem and its line, and nothing half-imported is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sessions.models import ProcessSession

SECRET = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"


@pytest.fixture
def recordings_dir(settings, tmp_path):
    settings.STREAMTAP = {**settings.STREAMTAP, "RECORDINGS_DIR": str(tmp_path / "recordings")}
    return tmp_path / "recordings"


def write_cast(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.django_db
def test_an_imported_recording_is_stored_redacted(tmp_path, recordings_dir):
    source = write_cast(
        tmp_path / "leaky.cast",
        json.dumps({"version": 2, "width": 80, "height": 24}),
        json.dumps([0.1, "o", f"ERROR: request failed with key {SECRET}\n"]),
        # A pause inside a secret, as an LLM streams it.
        json.dumps([0.2, "o", "password=hun"]),
        json.dumps([0.9, "o", "ter2\n"]),
    )
    call_command("import_cast", str(source))
    session = ProcessSession.objects.get()
    stored = Path(session.recording_path).read_text()
    assert SECRET not in stored and "hun" not in stored and "ter2" not in stored
    assert "[REDACTED:openai_key]" in stored
    assert all(SECRET not in e.content for e in session.events.all())


VALID = {"version": 2, "width": 80, "height": 24, "timestamp": 1700000000}
BAD_HEADERS = [
    ({**VALID, "width": "wide"}, "line 1: width must be a whole number"),
    ({**VALID, "width": -5}, "line 1: width -5 is outside"),
    ({**VALID, "height": 10**9}, "line 1: height 1000000000 is outside"),
    ({**VALID, "timestamp": 1e300}, "line 1: timestamp must be seconds since 1970"),
    ({**VALID, "width": {"nested": {"deeper": [1]}}}, "line 1: width must be a whole number"),
    ({**VALID, "term": [80, 24]}, "line 1: term must be an object"),
    ({**VALID, "title": ["x"]}, "line 1: title must be a string"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("header, message", BAD_HEADERS)
def test_a_bad_header_is_one_clear_error_and_imports_nothing(
    tmp_path, recordings_dir, header, message
):
    source = write_cast(tmp_path / "bad.cast", json.dumps(header), json.dumps([0.1, "o", "hi\n"]))
    with pytest.raises(CommandError) as raised:
        call_command("import_cast", str(source))
    assert str(raised.value).startswith(f"{source}: {message}")
    assert "\n" not in str(raised.value)
    assert not ProcessSession.objects.exists()


@pytest.mark.django_db
def test_a_nan_timestamp_is_refused(tmp_path, recordings_dir):
    source = write_cast(tmp_path / "nan.cast", '{"version": 2, "width": 80, "timestamp": NaN}')
    with pytest.raises(CommandError, match="line 1: timestamp must be seconds since 1970"):
        call_command("import_cast", str(source))
    assert not ProcessSession.objects.exists()


BAD_ROWS = [
    ('["a", "o"]', "line 3: an event must be [time, code, data]"),
    ('[1e400, "o", "x"]', "line 3: the time must be a number of seconds ≥ 0, not inf"),
    ('[-1, "o", "x"]', "line 3: the time must be a number of seconds ≥ 0"),
    ('[NaN, "o", "x"]', "line 3: the time must be a number of seconds ≥ 0, not nan"),
    ("[1, 2, 3]", "line 3: the code and data must be strings"),
    ('[1e20, "o", "x"]', "line 3: the time 100000000000000000000 s is past"),
    ('{"t": 1}', "line 3: an event must be [time, code, data]"),
    ("[0.5, ", "line 3: "),
]


@pytest.mark.django_db
@pytest.mark.parametrize("row, message", BAD_ROWS)
def test_a_bad_event_row_names_its_line_and_imports_nothing(tmp_path, recordings_dir, row, message):
    source = write_cast(
        tmp_path / "rows.cast", json.dumps(VALID), json.dumps([0.1, "o", "ERROR: x\n"]), row
    )
    with pytest.raises(CommandError) as raised:
        call_command("import_cast", str(source))
    assert str(raised.value).startswith(f"{source}: {message}")
    assert not ProcessSession.objects.exists()
    assert not list(recordings_dir.rglob("*.cast"))


@pytest.mark.django_db
def test_a_question_the_recording_prints_past_is_stored_as_the_live_tap_stored_it(
    tmp_path, recordings_dir
):
    source = write_cast(
        tmp_path / "flood.cast",
        json.dumps(VALID),
        json.dumps([0.1, "o", "Proceed (Y/n)?\nstep 1: applying patch\n"]),
        json.dumps([0.2, "o", "Deploy now? [y/N] "]),
    )
    call_command("import_cast", str(source))
    passed, waited = ProcessSession.objects.get().events.order_by("seq")
    assert passed.metadata["program_went_on"] is True
    assert (passed.prompt_decision, passed.prompt_decision_by) == ("superseded", "program")
    assert passed.prompt_decided_at == passed.timestamp
    # The last question was waited at when the recording ended: nobody answered it here.
    assert "program_went_on" not in waited.metadata and waited.prompt_decision is None
