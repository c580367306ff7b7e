"""`manage.py tap` as a user runs it: a real child process, a real SQLite/PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession
from sessions.recording import iter_events, read_header
from tests.helpers import wait_for
from tests.processes import alive, children_of

from .conftest import py, run_tap
from .helpers import extract_json, only_session, run_manage, start_tap, tap_errors_while_locked

pytestmark = pytest.mark.django_db(transaction=True)


def recorded_output(session: ProcessSession) -> str:
    return "".join(e.data for e in iter_events(session.recording_path) if e.code == "o")


def test_exit_code_is_the_childs(tap_env):
    result = run_tap(tap_env, "--", *py("import sys; print('bye'); sys.exit(3)"))
    assert result.returncode == 3
    assert result.stdout == b"bye\n"
    session = only_session()
    assert session.status == "failed"
    assert session.exit_code == 3
    assert [c.state for c in session.state_changes.all()] == ["running", "failed"]


def test_successful_run_is_completed_with_stats(tap_env):
    result = run_tap(tap_env, "--agent", "builder", "--", *py("print('a\\nb\\nc')"))
    assert result.returncode == 0
    session = only_session()
    assert session.agent_name == "builder"
    assert session.session_id.startswith("builder-")
    assert session.status == "completed" and session.exit_code == 0
    assert session.total_lines_processed == 3
    assert session.bytes_out == 6
    assert session.ended_at >= session.started_at
    assert session.mode == "pipe"


def test_agent_name_defaults_to_the_program_name(tap_env):
    run_tap(tap_env, "--", "true")
    assert only_session().agent_name == "true"


def test_child_killed_by_signal_exits_128_plus_n(tap_env):
    result = run_tap(tap_env, "--", *py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    assert result.returncode == 128 + signal.SIGKILL
    session = only_session()
    assert session.status == "killed"
    assert session.exit_signal == signal.SIGKILL


def test_missing_program_is_a_clear_error_with_the_shells_exit_code(tap_env):
    result = run_tap(tap_env, "--", "no-such-program-xyz")
    assert result.returncode == 127
    assert b"cannot run 'no-such-program-xyz'" in result.stderr


def test_a_program_that_is_not_executable_exits_126(tap_env, tmp_path):
    script = tmp_path / "not-executable.sh"
    script.write_text("echo hi\n")
    result = run_tap(tap_env, "--", str(script))
    assert result.returncode == 126
    assert b"Permission denied" in result.stderr


def test_an_agent_name_that_cannot_be_part_of_a_url_is_refused_with_the_rule(tap_env):
    result = run_tap(tap_env, "--agent", "team/bot", "--", "true")
    assert result.returncode == 1
    assert b"use letters, digits, '.', '_' and '-'" in result.stderr
    assert ProcessSession.objects.count() == 0


def test_a_program_name_that_cannot_be_part_of_a_url_gives_a_cleaned_agent_name(tap_env, tmp_path):
    program = tmp_path / "my tool (v2)"
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(0o755)
    run_tap(tap_env, "--", str(program))
    session = only_session()
    assert session.agent_name == "my-tool-v2"
    assert session.session_id.startswith("my-tool-v2-")


def test_missing_program_leaves_no_session_and_no_writer_behind(tap_env):
    result = run_tap(tap_env, "--", "no-such-program-xyz")
    assert result.returncode != 0
    assert ProcessSession.objects.count() == 0


def test_the_writer_extraction_and_output_processes_die_with_a_killed_tap(tap_env):
    code = "import time; print('ERROR: one', flush=True); time.sleep(60)"
    proc = start_tap(tap_env, "--", *py(code), start_new_session=True)
    assert proc.stdout.readline() == b"ERROR: one\n"
    session = wait_for(lambda: ProcessSession.objects.first())
    # The tap's children: the program, the writer process, the extraction process and an
    # output pump for each of the program's stdout and stderr.
    expected = ["streamtap-db", "streamtap-ext", "streamtap-out", "streamtap-out"]
    helpers = wait_for(lambda: helper_pids_if(proc.pid, session.pid, expected))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    os.killpg(session.pid, signal.SIGKILL)  # the program leads its own group
    for pid in helpers:
        wait_for(lambda pid=pid: not alive(pid), timeout=10)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def helper_pids_if(tap_pid: int, program_pid: int, names: list[str]) -> list[int] | None:
    """The tap's own child processes once their names are ``names`` (in any order)."""
    pids = [p for p in children_of(tap_pid) if p != program_pid]
    return pids if sorted(map(comm, pids)) == sorted(names) else None


def helpers_of(tap_pid: int, program_pid: int) -> dict[str, int]:
    """The tap's own child processes (the program aside), by name."""
    return {comm(p): p for p in children_of(tap_pid) if p != program_pid}


def start_pty_tap(tap_env: dict, code: str, **kwargs) -> subprocess.Popen:
    """A tap in PTY mode around a Python snippet, left running; its output in pipes."""
    return start_tap(tap_env, "--pty", "--", *py(code), stdin=subprocess.DEVNULL, **kwargs)


def test_pty_mode_reads_the_terminal_in_a_process_that_dies_with_a_killed_tap(tap_env):
    code = "import time; print('ERROR: one', flush=True); time.sleep(60)"
    proc = start_pty_tap(tap_env, code, start_new_session=True)
    assert proc.stdout.readline() == b"ERROR: one\r\n"
    session = wait_for(lambda: ProcessSession.objects.first())
    wait_for(lambda: len(helpers_of(proc.pid, session.pid)) == 3)
    kids = {**helpers_of(proc.pid, session.pid), "program": session.pid}
    assert set(kids) == {"program", "streamtap-db", "streamtap-ext", "streamtap-out"}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The PTY reader goes with the tap; then nobody holds the terminal and the program, whose
    # controlling terminal it was, gets SIGHUP as when a terminal window is closed.
    wait_for(lambda: not alive(kids["streamtap-out"]), timeout=10)
    wait_for(lambda: not alive(kids["program"]), timeout=10)
    wait_for(lambda: not alive(kids["streamtap-db"]), timeout=10)
    wait_for(lambda: not alive(kids["streamtap-ext"]), timeout=10)


def test_pty_mode_reads_the_terminal_itself_when_its_reader_process_is_killed(tap_env, tmp_path):
    go = tmp_path / "go"
    code = (
        "import os, sys, time\n"
        "print('before', flush=True)\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.05)\n"
        "print('after', flush=True)\n"
        "sys.exit(3)\n"
    )
    proc = start_pty_tap(tap_env, code)
    assert proc.stdout.readline() == b"before\r\n"
    session = wait_for(lambda: ProcessSession.objects.first())
    pump = wait_for(lambda: helpers_of(proc.pid, session.pid).get("streamtap-out"))
    os.kill(pump, signal.SIGKILL)
    go.touch()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert out == b"after\r\n"
    assert "before\r\nafter\r\n" in recorded_output(only_session())


def test_pipe_mode_reads_the_programs_output_itself_when_its_pumps_are_killed(tap_env, tmp_path):
    go = tmp_path / "go"
    # Each line in one write: unbuffered (tap_env), print() writes a line's end apart, and a
    # settle point between the two lets a stderr line in between (pipe mode records whole
    # lines of the two streams as they are read, not a line's halves apart).
    code = (
        "import os, sys, time\n"
        "sys.stdout.write('before\\n')\n"
        "sys.stderr.write('warned first\\n')\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.05)\n"
        "sys.stdout.write('after\\n')\n"
        "sys.stderr.write('warned again\\n')\n"
        "sys.exit(3)\n"
    )
    proc = start_tap(tap_env, "--pipe", "--", *py(code), stdin=subprocess.DEVNULL)
    assert proc.stdout.readline() == b"before\n"
    session = wait_for(lambda: ProcessSession.objects.first())
    names = ["streamtap-db", "streamtap-ext", "streamtap-out", "streamtap-out"]
    for pid in wait_for(lambda: helper_pids_if(proc.pid, session.pid, names)):
        if comm(pid) == "streamtap-out":
            os.kill(pid, signal.SIGKILL)
    go.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert out == b"after\n"
    assert b"warned again\n" in err
    recorded = recorded_output(only_session())
    assert "before\n" in recorded and "after\n" in recorded and "warned again\n" in recorded


def test_pty_mode_ends_with_the_program_when_a_background_child_keeps_the_terminal(
    tap_env, tmp_path
):
    # The background child ignores the hang-up and holds the terminal open for two minutes:
    # the tap must end with the shell (run_tap gives up after 60 s), not wait for it. The shell
    # waits until the child ignores SIGHUP: exiting earlier would hang it up.
    ready = tmp_path / "ready"
    linger = (
        "import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN);"
        f"open({str(ready)!r}, 'w').close(); time.sleep(120)"
    )
    script = (
        f'{sys.executable} -c "{linger}" & '
        f"while [ ! -e {ready} ]; do sleep 0.05; done; echo started $!"
    )
    result = run_tap(tap_env, "--pty", "--", "sh", "-c", script, stdin=subprocess.DEVNULL)
    lingering = int(result.stdout.split()[1])
    try:
        assert result.returncode == 0
        assert result.stdout == f"started {lingering}\r\n".encode()
        assert alive(lingering)
        assert f"started {lingering}" in recorded_output(only_session())
    finally:
        os.kill(lingering, signal.SIGKILL)


@pytest.mark.parametrize("mode", ["--pipe", "--pty"])
def test_output_that_keeps_coming_after_the_program_exits_is_read_until_it_pauses(tap_env, mode):
    # The shell exits at once; its background child (deaf to the terminal's hang-up) writes
    # ten lines 0.1 s apart, 1 s in all (a pump copying a flood's backlog looks the same to
    # the reader): everything is read until the output pauses for the drain's quiet spell,
    # not only its first 0.3 s.
    script = (
        "trap '' HUP; (for i in 1 2 3 4 5 6 7 8 9 10; do echo late line $i; sleep 0.1; done) &"
        " echo bye"
    )
    result = run_tap(tap_env, mode, "--", "sh", "-c", script, stdin=subprocess.DEVNULL)
    assert result.returncode == 0
    recorded = recorded_output(only_session())
    for i in range(1, 11):
        assert f"late line {i}\r\n" in recorded or f"late line {i}\n" in recorded
    assert result.stdout.count(b"late line") == 10


def test_pipe_mode_passes_stdout_and_stderr_through_unchanged(tap_env):
    code = (
        "import sys; sys.stdout.write('\\x1b[31mred\\x1b[0m out\\n'); sys.stdout.flush();"
        "sys.stderr.write('to stderr\\n')"
    )
    result = run_tap(tap_env, "--pipe", "--", *py(code))
    assert result.stdout == b"\x1b[31mred\x1b[0m out\n"
    assert result.stderr == b"to stderr\n"
    assert "red" in recorded_output(only_session())


def test_pty_mode_works_without_a_terminal(tap_env):
    code = "import os, sys; print('tty' if os.isatty(1) else 'notty', os.get_terminal_size())"
    result = run_tap(tap_env, "--pty", "--", *py(code), stdin=subprocess.DEVNULL)
    assert result.returncode == 0
    assert result.stdout.startswith(b"tty os.terminal_size(columns=80, lines=24)")
    session = only_session()
    assert session.mode == "pty"
    header = read_header(session.recording_path)
    assert (header["width"], header["height"]) == (80, 24)


@pytest.mark.parametrize("mode", ["--pipe", "--pty"])
def test_stdin_is_forwarded(tap_env, mode):
    code = "name = input('name? '); print('hello', name)"
    result = run_tap(tap_env, mode, "--", *py(code), input=b"world\n")
    assert result.returncode == 0
    assert b"hello world" in result.stdout


def test_binary_output_passes_through_byte_for_byte_and_is_recorded(tap_env):
    payload = bytes(range(256)) * 64 + b"\xff\xfe invalid utf-8 \xc3\x28\n"
    code = f"import sys; sys.stdout.buffer.write({payload!r})"
    result = run_tap(tap_env, "--pipe", "--", *py(code))
    assert result.returncode == 0
    assert result.stdout == payload
    session = only_session()
    assert session.status == "completed"
    assert session.bytes_out == len(payload)
    assert "\ufffd" in recorded_output(session)


def test_a_ten_megabyte_line_is_handled(tap_env):
    code = "import sys; sys.stdout.write('x' * 10_000_000 + ' Error: at the end\\n')"
    result = run_tap(tap_env, "--pipe", "--", *py(code), timeout=120)
    assert result.returncode == 0
    assert len(result.stdout) == 10_000_000 + len(" Error: at the end\n")
    session = only_session()
    assert session.total_lines_processed == 1
    assert len(recorded_output(session)) == len(result.stdout)


@pytest.mark.slow
def test_a_child_printing_a_million_lines(tap_env):
    code = (
        "import sys\n"
        "w = sys.stdout.write\n"
        "for i in range(1_000_000):\n"
        "    w(f'ERROR: failure number {i}\\n' if i % 1000 == 0 else f'line {i} of ordinary output\\n')\n"
    )
    result = run_tap(tap_env, "--pipe", "--", *py(code), timeout=300)
    assert result.returncode == 0
    assert result.stdout.count(b"\n") == 1_000_000
    session = only_session()
    assert session.total_lines_processed == 1_000_000
    assert ExtractionEvent.objects.filter(session=session, event_type="error").count() == 1000
    seqs = list(ExtractionEvent.objects.filter(session=session).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_events_are_stored_with_risk_and_markers(tap_env):
    code = (
        "print('Traceback (most recent call last):')\n"
        "print('  File \"x.py\", line 1, in <module>')\n"
        "print('ValueError: bad')\n"
        "print('WARNING: low disk')\n"
        "print('loss=0.25')\n"
        "print('```python')\nprint('print(1)')\nprint('```')\n"
    )
    run_tap(tap_env, "--pipe", "--", *py(code))
    session = only_session()
    events = list(session.events.order_by("seq"))
    assert [e.event_type for e in events] == ["error", "warning", "metric", "code_block"]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    error = events[0]
    assert error.rule == "python_traceback" and error.line_start == 1 and error.line_end == 3
    assert error.risk_level == "high" and not error.auto_confirmable
    assert events[2].risk_level == "low" and events[2].auto_confirmable
    assert events[3].code_block.sha256 == events[3].metadata["sha256"]
    assert session.event_counts == {"error": 1, "warning": 1, "metric": 1, "code_block": 1}
    markers = [e.data for e in iter_events(session.recording_path) if e.code == "m"]
    assert len(markers) == 4 and markers[0].startswith("error: Traceback")


def test_the_second_tap_loads_the_compiled_matchers_from_the_cache(tap_env, tmp_path):
    env = {**tap_env, "STREAMTAP_CACHE_DIR": str(tmp_path / "cache")}
    code = "print('ERROR: boom'); print('loss=0.5')"
    run_tap(env, "--pipe", "--", *py(code))
    cached = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("hyperscan-*.db")}
    assert len(cached) == 2  # the rule sweeps and the redaction prefilter
    run_tap(env, "--pipe", "--", *py(code))
    again = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("hyperscan-*.db")}
    assert again == cached  # read, not compiled and written again
    counts = [s.event_counts for s in ProcessSession.objects.order_by("id")]
    assert counts == [{"error": 1, "metric": 1}] * 2


def test_code_blocks_are_deduplicated_across_sessions(tap_env):
    code = "print('```sh'); print('make test'); print('```')"
    run_tap(tap_env, "--", *py(code))
    run_tap(tap_env, "--", *py(code))
    block = CodeBlock.objects.get()
    assert block.occurrences == 2 and block.language == "sh" and block.content == "make test"


def test_secrets_are_redacted_in_events_and_recording(tap_env):
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
    code = f"print('ERROR: request failed with key {secret}')"
    result = run_tap(tap_env, "--pipe", "--", *py(code))
    assert secret.encode() in result.stdout  # the user's own terminal sees what was printed
    session = only_session()
    assert secret not in session.events.get().content
    assert secret not in Path(session.recording_path).read_text()


def test_recording_can_keep_secrets_when_asked(tap_env):
    secret = "ghp_" + "a" * 36
    run_tap(tap_env, "--no-redact-recording", "--", *py(f"print('ERROR: token {secret}')"))
    session = only_session()
    assert secret in Path(session.recording_path).read_text()
    assert secret not in session.events.get().content


def test_quiet_child_gets_its_events_stored_by_the_timer(tap_env):
    code = "import time; print('ERROR: first', flush=True); time.sleep(30)"
    proc = start_tap(tap_env, "--batch-seconds", "0.5", "--", *py(code))
    try:
        event = wait_for(lambda: ExtractionEvent.objects.filter(content__contains="first").first())
        assert event.session.status == "running"
    finally:
        proc.kill()
        proc.wait()


def test_sigterm_to_the_tap_is_forwarded_and_everything_is_flushed(tap_env):
    code = (
        "import time\nfor i in range(5): print(f'ERROR: problem {i}', flush=True)\ntime.sleep(60)\n"
    )
    proc = start_tap(tap_env, "--batch-seconds", "60", "--", *py(code))
    # Wait until the child has printed (the tap passes output straight through).
    assert proc.stdout.readline().startswith(b"ERROR: problem 0")
    wait_for(lambda: ProcessSession.objects.exists())
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    session = only_session()
    assert session.status == "killed"
    assert session.events.count() == 5


def test_locked_database_delays_storage_but_not_the_program(tap_env):
    code = "for i in range(50): print(f'ERROR: e{i}', flush=True)"
    # Every line comes through while nothing at all can be written to the database.
    err = tap_errors_while_locked(tap_env, code, lines=50)
    assert b"database is locked" not in err
    session = only_session()
    assert session.events.count() == 50
    assert session.status == "completed"


def test_database_down_spills_and_recover_loads_it(tap_env, tmp_path):
    down_env = dict(
        tap_env,
        DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/nope.sqlite3",
        STREAMTAP_FINISH_TIMEOUT="3",
    )
    code = "for i in range(7): print(f'ERROR: e{i}')"
    result = run_tap(down_env, "--batch-seconds", "0.2", "--", *py(code), timeout=90)
    assert result.returncode == 0
    assert result.stdout.count(b"ERROR") == 7
    assert b"spilled to" in result.stderr
    spills = list((tmp_path / "data" / "spill").glob("*.spill.jsonl"))
    assert len(spills) == 1
    # Later, with the database back, `recover` loads the spill file.
    recover = run_manage(tap_env, "recover")
    assert recover.returncode == 0, recover.stderr
    session = only_session()
    assert session.status == "completed"
    assert session.events.count() == 7
    # Running it again changes nothing.
    run_manage(tap_env, "recover", check=True)
    assert ExtractionEvent.objects.count() == 7


def test_recover_with_nothing_to_do_says_so(tap_env):
    result = run_manage(tap_env, "recover")
    assert result.returncode == 0
    assert b"nothing to recover" in result.stdout


def test_a_spill_file_that_cannot_be_loaded_is_reported_and_kept_and_the_others_load(
    tap_env, tmp_path
):
    down_env = dict(
        tap_env,
        DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/nope.sqlite3",
        STREAMTAP_FINISH_TIMEOUT="3",
    )
    run_tap(down_env, "--batch-seconds", "0.2", "--", *py("print('ERROR: kept')"), timeout=90)
    spill_dir = tmp_path / "data" / "spill"
    broken = spill_dir / "0000-broken.spill.jsonl"
    broken.write_text('{"kind": "session", "spec": {"agent_name": 1}}\n{not json\n')

    result = run_manage(tap_env, "recover")

    assert result.returncode == 1
    assert f"could not load spill {broken}".encode() in result.stderr
    assert b"Traceback" not in result.stderr
    assert broken.exists()
    assert only_session().events.count() == 1


def test_recover_after_kill_9_restores_every_event_exactly_once(tap_env):
    # 30 events (one full batch, stored at once), a pause, then 10 more that are still only
    # in the writer's memory (and the recording) when the tap is killed.
    code = (
        "import time\n"
        "for i in range(15):\n"
        "    print(f'ERROR: step {i} failed'); print(f'loss={i / 100}')\n"
        "print('', flush=True)\n"
        "time.sleep(1.5)\n"
        "for i in range(15, 20):\n"
        "    print(f'ERROR: step {i} failed'); print(f'loss={i / 100}')\n"
        "print('-- waiting --', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = start_tap(
        tap_env,
        "--batch-size",
        "30",
        "--batch-seconds",
        "60",
        "--",
        *py(code),
        start_new_session=True,
    )
    while b"-- waiting --" not in proc.stdout.readline():
        pass
    wait_for(lambda: ExtractionEvent.objects.count() >= 30)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    session = only_session()
    os.killpg(session.pid, signal.SIGKILL)  # the orphaned child (it leads its own group)
    assert session.status == "running"
    assert session.events.count() == 30

    result = run_manage(tap_env, "recover")
    assert result.returncode == 0, result.stderr
    session.refresh_from_db()
    assert session.status == "lost"
    assert session.events.filter(event_type="error").count() == 20
    assert sorted(session.events.values_list("seq", flat=True)) == list(range(1, 41))
    assert session.total_extraction_events == 40


def test_extract_over_the_recording_finds_what_the_tap_stored(tap_env):
    code = "print('npm ERR! code E404'); print('warning: unused variable'); print('accuracy: 93%')"
    run_tap(tap_env, "--", *py(code))
    session = only_session()
    extracted = extract_json(tap_env, session.recording_path)
    stored = list(session.events.order_by("seq").values_list("rule", flat=True))
    assert [e["rule"] for e in extracted] == stored


def test_summary_after_a_failed_writer_points_to_recover():
    import io

    from sessions.tap import TapResult, print_summary

    out = io.StringIO()
    result = TapResult(0, None, None, "/tmp/x.cast", 3, 10, stored=False, spill_path=None)
    print_summary(result, out)
    assert "recover" in out.getvalue() and "/tmp/x.cast" in out.getvalue()
    assert "spilled to None" not in out.getvalue()


def test_the_demo_agent_shows_every_kind_of_event_even_without_a_terminal(tap_env):
    result = run_tap(
        tap_env,
        "--agent",
        "demo-agent",
        "--",
        sys.executable,
        "-m",
        "sessions.demo_agent",
        "--fast",
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    kinds = set(only_session().events.values_list("event_type", flat=True))
    assert kinds == {"error", "warning", "metric", "code_block", "prompt"}
