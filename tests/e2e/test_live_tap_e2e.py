"""A real `tap` process, a real daphne and a headless Chromium: what a user watching sees."""

from __future__ import annotations

import sys
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT
from tests.e2e.helpers import last_session_pk, start_tap, tap_python, wait_for_session

FAKE_TUI = [sys.executable, str(ROOT / "tests" / "programs" / "fake_agent_tui.py")]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_events_of_a_running_tap_appear_without_reload(logged_in_page, live_server_proc, tmp_path):
    server, page = live_server_proc, logged_in_page
    flag = tmp_path / "go"
    child = (
        "import os, time\n"
        "print('agent starting', flush=True)\n"
        f"while not os.path.exists({str(flag)!r}): time.sleep(0.05)\n"
        "print('ERROR: the build broke <script>alert(1)</script>', flush=True)\n"
        "print('loss=0.125', flush=True)\n"
        "time.sleep(30)\n"
    )
    since = last_session_pk(server)
    tap = tap_python(server.env, child)
    try:
        session_id = wait_for_session(server, since_id=since)
        page.goto(f"{server.base_url}/sessions/{session_id}/")
        page.wait_for_selector("#terminal .xterm-rows")
        page.wait_for_function("() => true")  # let the live socket subscribe
        time.sleep(0.5)
        flag.touch()
        item = page.wait_for_selector("#timeline li:has-text('the build broke')", timeout=15000)
        # Hostile output is shown as text, never run.
        assert "<script>alert(1)</script>" in item.inner_text()
        page.wait_for_selector("#metrics .metric-card:has-text('loss')", timeout=15000)
        page.wait_for_selector("#terminal .xterm-rows:has-text('agent starting')", timeout=15000)
        assert not [e for e in page.errors if "alert" in e]
    finally:
        tap.kill()
        tap.wait()


@pytest.mark.parametrize(
    ("decision", "expected"), [("Approve once", b"APPROVED"), ("Deny", b"DENIED")]
)
def test_a_prompt_is_answered_from_the_browser(
    logged_in_page, live_server_proc, decision, expected
):
    server, page = live_server_proc, logged_in_page
    since = last_session_pk(server)
    # A generous answer timeout: the browser, not the fake program's patience, is under test.
    tap = start_tap(
        server.env,
        "--pty",
        "--",
        *FAKE_TUI,
        "--style",
        "claude",
        "--command",
        "rm -rf build/",
        "--answer-timeout",
        "120",
    )
    try:
        session_id = wait_for_session(server, status="waiting_for_input", since_id=since)
        page.goto(f"{server.base_url}/sessions/{session_id}/")
        card = page.wait_for_selector(".prompt-card", timeout=15000)
        text = card.inner_text()
        assert "rm -rf build/" in text and "high risk" in text
        page.click(f".prompt-card button:has-text('{decision}')")
        page.wait_for_selector(".prompt-outcome", timeout=15000)
        # wait(), not communicate(): closing the tap's stdin would type an end of input (^D)
        # into the program, and one right after the Esc that denies reads as an Esc sequence.
        tap.wait(timeout=30)
        out = tap.stdout.read()
        assert expected in out
        page.wait_for_selector("#session-status:has-text('completed')", timeout=15000)
        # Once the program has moved on, the answer is no longer "being typed".
        expect(page.locator(".prompt-outcome")).to_contain_text("the program got its answer")
        assert "· live" not in page.inner_text("#terminal-status")
    finally:
        tap.kill()
        tap.wait()


def test_the_overview_shows_a_new_session_at_once_and_counts_it_and_its_high_risk_events(
    logged_in_page, live_server_proc, tmp_path
):
    server, page = live_server_proc, logged_in_page
    flag = tmp_path / "go"
    child = (
        "import os, time\n"
        f"while not os.path.exists({str(flag)!r}): time.sleep(0.05)\n"
        "print('ERROR: could not rm -rf /srv/cache', flush=True)\n"
        "time.sleep(30)\n"
    )
    page.goto(f"{server.base_url}/")
    page.wait_for_selector("#live-indicator[data-state=open]")
    sessions_before = int(page.inner_text("#sessions-last-day"))
    high_risk_before = int(page.inner_text("#stat-high-risk .value"))
    since = last_session_pk(server)
    tap = tap_python(server.env, child, "--agent", "overview-check")
    try:
        session_id = wait_for_session(server, since_id=since)
        # Listed before it has printed anything: the tap announces the session itself.
        row = page.locator(f"#live-sessions tr[data-session='{session_id}']")
        expect(row).to_contain_text("overview-check", timeout=15000)
        expect(page.locator("#sessions-last-day")).to_have_text(str(sessions_before + 1))
        flag.touch()
        expect(page.locator("#stat-high-risk .value")).to_have_text(
            str(high_risk_before + 1), timeout=15000
        )
        assert page.errors == []
    finally:
        tap.kill()
        tap.wait()
