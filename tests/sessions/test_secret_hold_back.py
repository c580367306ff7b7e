"""Issue 15 row 1: a secret printed with a pause inside it never reaches storage in parts.

A real `tap` (pipe and PTY) runs a real child that prints the first part of each secret,
sleeps past the idle flush (IDLE_SECONDS = 0.15 s), then prints the rest. Neither the rows in
the database nor the .cast recording may hold any tail of a secret; the user's own terminal
still gets the program's bytes unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extraction.models import ExtractionEvent
from sessions.models import ProcessSession

from .conftest import py, run_tap

pytestmark = pytest.mark.django_db(transaction=True)

OPENAI_KEY = "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0T"

# (printed before the pause, printed after it, the secret part that must not be stored)
SPLIT_SECRETS = [
    ("ERROR: key sk-proj-A1b2C3d4", OPENAI_KEY[16:] + " done\n", OPENAI_KEY),
    ("ERROR: db postgres://admin:hun", "ter2pw@db.example.com/app\n", "hunter2pw"),
    ("ERROR: API_KEY=", "zq9Xv7Lm3Np8Rt2Yw6\n", "zq9Xv7Lm3Np8Rt2Yw6"),
    ("ERROR: API_KEY=zq9", "Xv7Lm3Np8Rt2Yw6\n", "Xv7Lm3Np8Rt2Yw6"),
    ("ERROR: Authorization: Bearer eyJhbGciOi", "JIUzI1NiJ9.payload.sig\n", "JIUzI1NiJ9"),
    ("ERROR: aws secret ", AWS_SECRET + "\n", AWS_SECRET),
    ("ERROR: aws secret wJalrXUtnFEMI/", AWS_SECRET[14:] + "\n", AWS_SECRET[14:]),
    ("ERROR: token " + JWT[:25], JWT[25:] + "\n", JWT[25:]),
]
PAUSE = 0.4  # past the idle flush, well under the 2 s hold bound


def paused_printer(tmp_path: Path, pieces: list[tuple[str, str]], pause: float) -> list[str]:
    """argv of a program printing each (head, rest) with a pause between; the text is read
    from a file, so the secrets are not in its command line (which the recording keeps)."""
    data = tmp_path / "pieces.json"
    data.write_text(json.dumps(pieces))
    code = (
        "import sys, time, json\n"
        "for head, rest in json.load(open(sys.argv[1])):\n"
        f"    sys.stdout.write(head); sys.stdout.flush(); time.sleep({pause})\n"
        "    sys.stdout.write(rest); sys.stdout.flush()\n"
    )
    return [*py(code), str(data)]


def recorded(session: ProcessSession) -> str:
    """Everything the recording holds after its header: output and markers."""
    return "\n".join(Path(session.recording_path).read_text().splitlines()[1:])


def stored_texts(session: ProcessSession) -> list[str]:
    events = ExtractionEvent.objects.filter(session=session)
    return [f"{e.content}\n{e.context}\n{json.dumps(e.metadata)}" for e in events]


@pytest.mark.parametrize("mode", ["--pipe", "--pty"])
def test_a_secret_split_by_a_pause_reaches_neither_the_database_nor_the_recording(
    tap_env, tmp_path, mode
):
    pieces = [(head, rest) for head, rest, _ in SPLIT_SECRETS]
    result = run_tap(tap_env, mode, "--", *paused_printer(tmp_path, pieces, PAUSE))
    assert result.returncode == 0, result.stderr
    session = ProcessSession.objects.get()
    recording = recorded(session)
    rows = stored_texts(session)
    assert len(rows) == len(SPLIT_SECRETS)  # one error event per line, each line whole
    for _head, _rest, secret in SPLIT_SECRETS:
        for fragment in {secret, secret[:8], secret[-8:]}:
            assert fragment not in recording, (fragment, recording)
            assert not any(fragment in row for row in rows), (fragment, rows)
    assert recording.count("[REDACTED:") >= len(SPLIT_SECRETS)
    # The user's own terminal gets what the program printed.
    terminal = result.stdout.decode().replace("\r\n", "\n")
    assert terminal == "".join(head + rest for head, rest, _ in SPLIT_SECRETS)


def test_a_secret_start_held_past_the_bound_is_stored_redacted_whole(tap_env, tmp_path):
    # The rest comes 3 s later, past StreamRedactor.HOLD_SECONDS: the start is let out as
    # [REDACTED:unfinished] and the rest of the token is dropped, not stored in clear.
    pieces = [("ERROR: key sk-proj-A1b2C3d4", "E5f6G7h8I9j0K1l2 end\n")]
    result = run_tap(tap_env, "--pipe", "--", *paused_printer(tmp_path, pieces, 3.0))
    assert result.returncode == 0, result.stderr
    session = ProcessSession.objects.get()
    recording = recorded(session)
    assert "A1b2C3d4" not in recording and "E5f6G7h8" not in recording
    assert "[REDACTED:unfinished]" in recording and " end" in recording
    assert not any("A1b2" in row or "E5f6" in row for row in stored_texts(session))


def test_a_password_prompt_is_not_held_back(tap_env):
    # "Password: " cannot be the start of a secret by itself; holding it would hide the prompt.
    code = "import time, sys; sys.stdout.write('Password: '); sys.stdout.flush(); time.sleep(1)"
    run_tap(tap_env, "--pipe", "--", *py(code))
    session = ProcessSession.objects.get()
    cast = [json.loads(line) for line in Path(session.recording_path).read_text().splitlines()]
    first = next(row for row in cast[1:] if row[1] == "o" and "Password" in row[2])
    assert first[0] < 0.9  # let out at the pause, not when the program ended
