"""The replay page in a real Chromium against a real daphne: play, pause, seek, jump to errors."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.e2e.helpers import tap_python
from tests.e2e.recorded import numbered_lines, recorded_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DURATION = 60.0
# (offset, type, content): the errors and the prompt sit on chunks of their own.
EVENTS = [
    (10.25, "warning", "WARNING: disk almost full"),
    (20.25, "error", "Traceback (most recent call last):\nValueError: first"),
    (40.25, "error", "Traceback (most recent call last):\nKeyError: second"),
    (50.25, "prompt", "Proceed? [y/N]"),
]


@pytest.fixture(scope="module")
def replay_session(live_server_proc) -> str:
    lines = numbered_lines(DURATION, suffix=" <script>alert(1)</script>")
    # Each event's text on a chunk of its own, a quarter second after a line.
    chunks = [(t, content.replace("\n", "\r\n") + "\r\n") for t, _type, content in EVENTS]
    output = sorted(lines + chunks)
    return recorded_session(live_server_proc, "replayer-e2e-1", output, EVENTS, duration=DURATION)


def terminal_text(page) -> str:
    return page.locator("#replay-terminal .xterm-rows").inner_text()


def watch_failures(page) -> list[str]:
    """Responses that failed, other than the favicon the base template does not declare."""
    failed: list[str] = []
    page.on(
        "response",
        lambda r: failed.append(f"{r.status} {r.url}")
        if r.status >= 400 and not r.url.endswith("/favicon.ico")
        else None,
    )
    return failed


def script_errors(page) -> list[str]:
    return [e for e in page.errors if not e.startswith("Failed to load resource")]


def classes(locator) -> str:
    return locator.get_attribute("class") or ""


def position(page) -> float:
    return float(page.get_attribute("#replay", "data-position"))


def test_play_pause_seek_and_jump_to_next_error(logged_in_page, live_server_proc, replay_session):
    page = logged_in_page
    failed = watch_failures(page)
    began = time.monotonic()
    page.goto(f"{live_server_proc.base_url}/sessions/{replay_session}/replay/")

    # Play: it starts by itself and the first lines appear.
    page.wait_for_function("() => document.querySelector('#replay').dataset.state === 'playing'")
    page.wait_for_function(
        "() => document.querySelector('#replay-terminal .xterm-rows').innerText.includes('line 000')"
    )
    first_frame = time.monotonic() - began
    assert first_frame < 5
    assert "<script>alert(1)</script>" in terminal_text(page)  # output is text, not markup
    markers = page.locator("#replay-markers .replay-marker")
    assert markers.count() == 4
    assert markers.nth(1).get_attribute("class") == "replay-marker type-error"
    assert markers.nth(3).get_attribute("class") == "replay-marker type-prompt"

    # Faster, then pause: the position stops moving.
    page.select_option("#replay-speed", "16")
    page.wait_for_function("() => Number(document.querySelector('#replay').dataset.position) > 5")
    page.click("#replay-play")
    page.wait_for_function("() => document.querySelector('#replay').dataset.state === 'paused'")
    paused_at = position(page)
    page.wait_for_timeout(400)
    assert position(page) == paused_at
    assert page.inner_text("#replay-play") == "Play"

    # Seek to 30 s: the screen shows the lines just before it, and the warning is reached.
    page.fill("#replay-seek", "30")
    page.wait_for_function(
        "() => Math.abs(Number(document.querySelector('#replay').dataset.position) - 30) < 0.01"
    )
    page.wait_for_function(
        "() => document.querySelector('#replay-terminal .xterm-rows').innerText.includes('line 059')"
    )
    text = terminal_text(page)
    assert "line 060" not in text
    assert "line 041" in text  # a whole screen (20 rows) of what was before the point
    items = page.locator("#replay-events li")
    assert items.count() == 4
    assert "reached" in classes(items.nth(1))
    assert "current" in classes(items.nth(1))
    assert "reached" not in classes(items.nth(2))

    # Next error: straight to the second traceback, highlighted in the list.
    page.click("button[data-jump='error'][data-direction='1']")
    page.wait_for_function(
        "() => Math.abs(Number(document.querySelector('#replay').dataset.position) - 40.25) < 0.01"
    )
    page.wait_for_function(
        "() => document.querySelector('#replay-events li.current')?.dataset.seq === '3'"
    )
    # Play on from there: the traceback itself is written first.
    page.click("#replay-play")
    page.wait_for_function(
        "() => document.querySelector('#replay-terminal .xterm-rows').innerText.includes('KeyError: second')"
    )
    # Previous error goes back to the first one. It plays on from there: the first error stays
    # the current event for 20 s, where a position within 0.5 s of the jump was missed by a
    # page polled less often than that under load.
    page.click("button[data-jump='error'][data-direction='-1']")
    page.wait_for_function(
        "() => document.querySelector('#replay-events li.current')?.dataset.seq === '2'"
    )
    assert 20.25 - 0.01 <= position(page) < 40.25
    assert script_errors(page) == []
    assert failed == []


def test_play_to_the_end(logged_in_page, live_server_proc, replay_session):
    page = logged_in_page
    failed = watch_failures(page)
    page.goto(f"{live_server_proc.base_url}/sessions/{replay_session}/replay/")
    page.wait_for_function("() => document.querySelector('#replay').dataset.state === 'playing'")
    page.fill("#replay-seek", "55")
    page.select_option("#replay-speed", "16")
    page.wait_for_function(
        "() => document.querySelector('#replay').dataset.state === 'ended'", timeout=15000
    )
    assert position(page) == pytest.approx(DURATION, abs=0.01)
    assert "line 120" in terminal_text(page)
    assert page.inner_text("#replay-time") == "1:00.0 / 1:00.0"
    assert script_errors(page) == []
    assert failed == []


def running_session(live_server_proc, agent: str) -> str:
    """The session id of the agent's running session, once it has a recording."""
    session_id = ""
    deadline = time.monotonic() + 30
    while not session_id and time.monotonic() < deadline:
        session_id = live_server_proc.shell(
            "from sessions.models import ProcessSession as P\n"
            f"s = P.objects.filter(agent_name={agent!r}, status='running').first()\n"
            "print(s.session_id if s and s.recording_path else '', end='')"
        )
    assert session_id, "the tap did not start a session"
    return session_id


def open_live_replay(page, live_server_proc, session_id: str) -> None:
    page.goto(f"{live_server_proc.base_url}/sessions/{session_id}/replay/")
    page.wait_for_function("() => document.querySelector('#replay').dataset.live === 'true'")


def wait_for_terminal_text(page, text: str, timeout: float = 30000) -> None:
    page.wait_for_function(
        "(text) => document.querySelector('#replay-terminal .xterm-rows').innerText.includes(text)",
        arg=text,
        timeout=timeout,
    )


def test_a_running_session_is_caught_up_and_followed_live(logged_in_page, live_server_proc):
    page = logged_in_page
    failed = watch_failures(page)
    program = (
        "import time\n"
        "for i in range(20):\n"
        "    print(f'tick {i}', flush=True)\n"
        "    time.sleep(0.6)\n"
        "print('ERROR: done ticking', flush=True)\n"
    )
    tap = tap_python(
        live_server_proc.env, program, "--agent", "follower", stdin=None, stdout=subprocess.DEVNULL
    )
    try:
        open_live_replay(page, live_server_proc, running_session(live_server_proc, "follower"))
        wait_for_terminal_text(page, "tick 0")
        assert tap.poll() is None  # still running while the page shows its first output
        wait_for_terminal_text(page, "ERROR: done ticking", timeout=30000)
        # Once the session has ended the player stops at the end of the recording.
        page.wait_for_function(
            "() => document.querySelector('#replay').dataset.state === 'ended'", timeout=30000
        )
        page.wait_for_function(
            "() => document.querySelector('#replay-events li[data-type=error]') !== null",
            timeout=15000,
        )
    finally:
        tap.wait(30)
    assert script_errors(page) == []
    assert failed == []


def test_a_session_that_ends_shows_its_last_output_even_if_the_end_is_heard_of_first(
    logged_in_page, live_server_proc, tmp_path
):
    # The page hears that a session ended from its index poll (every 5 s) and reads the output
    # with its range poll (every 1 s). When the end is heard of first, the output printed just
    # before it must still be read: range requests are held back here to make that happen.
    page = logged_in_page
    go = tmp_path / "go"
    program = (
        "import os, time\n"
        "print('first line', flush=True)\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.05)\n"
        "print('last words', flush=True)\n"
    )
    tap = tap_python(
        live_server_proc.env, program, "--agent", "ender", stdin=None, stdout=subprocess.DEVNULL
    )
    range_requests = re.compile(r"/range\?")
    try:
        open_live_replay(page, live_server_proc, running_session(live_server_proc, "ender"))
        wait_for_terminal_text(page, "first line")
        page.route(range_requests, lambda route: route.abort())
        go.touch()
        assert tap.wait(30) == 0
        page.wait_for_function(
            "() => document.querySelector('#replay').dataset.live === 'false'", timeout=20000
        )
        page.unroute(range_requests)
        wait_for_terminal_text(page, "last words", timeout=15000)
    finally:
        if tap.poll() is None:
            tap.kill()
        tap.wait(30)
    assert script_errors(page) == []
