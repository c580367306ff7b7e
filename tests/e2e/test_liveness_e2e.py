"""Liveness as a user sees it: real taps, a real daphne and headless Chromium.

A tap killed with -9 turns "lost" on an open page; a program waiting for an answer shows in
every page's header and title, and staff answer it from the sessions list; counts move live;
"errors in the last hour" is one click from the overview.

The server here beats fast (STREAMTAP_HEARTBEAT_SECONDS=1): a session is lost after 3 s.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, logged_in, open_logged_in, server_fixture
from tests.e2e.helpers import (
    DEMO_AGENT,
    last_session_pk,
    start_tap,
    tap_python,
    wait_for_session,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


server = server_fixture("server", "module", heartbeat_seconds=1)


@pytest.fixture(scope="module")
def live_server_proc(server):
    """The server conftest's ``logged_in_page`` logs in to (as the staff user): this module's."""
    return server


@pytest.fixture
def viewer_page(browser, server):
    """A logged-in user who is not staff."""
    password = secrets.token_urlsafe(12)
    server.shell(
        "from django.contrib.auth.models import User\n"
        "u, _ = User.objects.get_or_create(username='viewer')\n"
        f"u.set_password({password!r}); u.is_staff = False; u.save()"
    )
    viewer = LiveServer(server.data_dir, server.port, server.env, "viewer", password)
    with logged_in(browser, viewer) as page:
        yield page


# Its own process group: kill -9 takes the tap, its writer and the program at once.
ALONE = {"stdin": subprocess.DEVNULL, "start_new_session": True}


def start_demo_agent(server) -> subprocess.Popen:
    """The demo program in a terminal: it asks to commit a fix and waits for the answer."""
    return start_tap(server.env, "--pty", *DEMO_AGENT, **ALONE)


def stop(tap: subprocess.Popen) -> None:
    if tap.poll() is None:
        os.killpg(tap.pid, signal.SIGKILL)
    tap.communicate(timeout=20)


def live_socket_open(page) -> None:
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "open")


def row(page, session_id: str):
    return page.locator(f'#sessions-table tr[data-session="{session_id}"]')


def test_a_tap_killed_with_sigkill_turns_lost_on_an_open_page(logged_in_page, server):
    page = logged_in_page
    since = last_session_pk(server)
    tap = tap_python(server.env, "import time; time.sleep(120)", **ALONE)
    try:
        session_id = wait_for_session(server, since_id=since)
        page.goto(f"{server.base_url}/sessions/")
        live_socket_open(page)
        status = row(page, session_id).locator('[data-field="status"]')
        expect(status).to_have_text("running")

        os.killpg(tap.pid, signal.SIGKILL)

        # No reload: the server's sweep announces it on the live bus.
        expect(status).to_have_text("lost", timeout=20_000)
        page.goto(f"{server.base_url}/")
        assert not page.locator(f'#live-sessions tr[data-session="{session_id}"]').count()
    finally:
        stop(tap)


def test_a_waiting_program_shows_everywhere_and_staff_answer_it_from_the_list(
    logged_in_page, viewer_page, server
):
    page = logged_in_page
    page.goto(f"{server.base_url}/events/")
    live_socket_open(page)
    badge = page.locator("#waiting-badge")
    expect(badge).to_be_hidden()
    since = last_session_pk(server)
    tap = start_demo_agent(server)
    try:
        session_id = wait_for_session(server, since_id=since, status="waiting_for_input")
        # Another page than the session's, open before the program asked: live.
        expect(badge).to_have_text("1 waiting", timeout=15_000)
        expect(page).to_have_title("(1) Events · streamtap")

        # Someone who is not staff sees who waits, but gets no buttons.
        viewer_page.goto(f"{server.base_url}/sessions/")
        expect(viewer_page.locator("#waiting-badge")).to_have_text("1 waiting")
        expect(row(viewer_page, session_id).locator('[data-field="status"]')).to_have_text(
            "waiting_for_input"
        )
        assert not viewer_page.locator(".row-decide, button[data-decision]").count()

        badge.click()  # one waiting program: its question
        page.wait_for_url(f"**/sessions/{session_id}/#prompt-panel")
        page.goto(f"{server.base_url}/sessions/")
        live_socket_open(page)
        row(page, session_id).get_by_role("button", name="Approve once").click()
        expect(row(page, session_id).locator(".decide-outcome")).to_have_text("Approved")

        out, _ = tap.communicate(timeout=60)
        assert tap.returncode == 0
        assert b"Committed." in out  # the program got "yes"
        expect(row(page, session_id).locator('[data-field="status"]')).to_have_text("completed")
        expect(badge).to_be_hidden()
        expect(page).to_have_title("Sessions · streamtap")
    finally:
        stop(tap)


def test_counts_move_live_on_the_session_header_and_the_overview(
    browser, logged_in_page, server, tmp_path
):
    page = logged_in_page
    flag = tmp_path / "go"
    child = (
        "import os, time\n"
        "print('WARNING: disk almost full', flush=True)\n"
        f"while not os.path.exists({str(flag)!r}): time.sleep(0.05)\n"
        "print('ERROR: the build broke', flush=True)\n"
        "time.sleep(120)\n"
    )
    since = last_session_pk(server)
    tap = tap_python(server.env, child, **ALONE)
    overview = open_logged_in(browser, server)
    try:
        session_id = wait_for_session(server, since_id=since)
        page.goto(f"{server.base_url}/sessions/{session_id}/")
        counts = page.locator("#session-counts")
        expect(counts).to_contain_text("warning 1", timeout=15_000)
        # Opened while the warning may still wait for its batch (stored within 5 s): the
        # count the page was made with is corrected by the tap's own total on its next event.
        overview.goto(f"{server.base_url}/")
        cell = overview.locator(
            f'#live-sessions tr[data-session="{session_id}"] [data-field="total"]'
        )
        expect(cell).to_have_text(re.compile(r"^[01]$"))
        live_socket_open(page)
        live_socket_open(overview)

        flag.touch()

        expect(counts).to_contain_text("error 1")
        expect(counts).to_contain_text("warning 1")
        expect(cell).to_have_text("2")
    finally:
        overview.context.close()
        stop(tap)


def test_errors_of_the_last_hour_are_one_click_from_the_overview(logged_in_page, server):
    page = logged_in_page
    child = (
        "print('Traceback (most recent call last):\\n  File \"x.py\", line 1\\nValueError: boom')"
    )
    tap = tap_python(server.env, child, **ALONE)
    tap.communicate(timeout=60)
    assert tap.returncode == 0

    page.goto(f"{server.base_url}/")  # where login lands
    page.locator("#stat-errors").click()

    page.wait_for_url("**/events/?range=1h&type=error")
    types = page.locator('#events-table [data-field="type"]')
    expect(types.first).to_have_text("error")
    assert set(types.all_inner_texts()) == {"error"}

    page.goto(f"{server.base_url}/")
    problem = page.locator("#latest-problems a", has_text="ValueError: boom").first
    problem.click()
    page.wait_for_url("**/problems/*/")
    assert not page.errors


# Records the notifications the page shows (headless Chromium displays none).
RECORD_NOTIFICATIONS = """
window.__notices = [];
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) { super(title, options); window.__notices.push({ title, ...options }); }
}
Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
Recorded.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recorded;
"""


def test_staff_deny_from_the_overview_and_notifications_are_asked_for_by_a_button(browser, server):
    page = open_logged_in(browser, server)
    try:
        page.context.grant_permissions(["notifications"], origin=server.base_url)
        page.add_init_script(RECORD_NOTIFICATIONS)
        page.goto(f"{server.base_url}/")
        live_socket_open(page)
        toggle = page.locator("#notify-toggle")
        # Nothing is turned on by loading a page: the user asks, once, with the button.
        expect(toggle).to_have_text("Notify me")
        assert page.evaluate("localStorage.getItem('streamtap.notify')") is None
        toggle.click()
        expect(toggle).to_have_text("Notifications on")
        assert page.evaluate("localStorage.getItem('streamtap.notify')") == "on"
        page.reload()  # remembered
        live_socket_open(page)
        expect(toggle).to_have_text("Notifications on")

        since = last_session_pk(server)
        tap = start_demo_agent(server)
        try:
            session_id = wait_for_session(server, since_id=since, status="waiting_for_input")
            item = page.locator(f'#waiting-list li[data-session="{session_id}"]')
            expect(item.locator(".question")).to_contain_text("Commit the fix", timeout=15_000)
            notices = page.evaluate("window.__notices")
            assert [n["tag"] for n in notices] == [f"streamtap-{session_id}"]
            assert "Commit the fix" in notices[0]["body"]

            item.get_by_role("button", name="Deny").click()

            out, _ = tap.communicate(timeout=60)
            assert b"Left the change uncommitted." in out  # the program got "no"
            expect(item).to_have_count(0)  # it waits no more
            expect(page.locator("#waiting-badge")).to_be_hidden()
        finally:
            stop(tap)
        assert not page.errors
    finally:
        page.context.close()
