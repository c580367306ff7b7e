"""Issue 17 items 5 and 6 in a browser: what a program printed is searchable and a result opens
the terminal at its line; an event of a 30,000-line run shows its own lines, in a window that
says so; the terminal's search box finds text in xterm's buffer."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.recorded import recorded_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LONG_LINES = 30_000
# Reading 30,000 lines into xterm, on a machine busy with other suites.
LOAD_TIMEOUT = 90_000


def rows_text(page) -> str:
    return page.locator("#terminal .xterm-rows").inner_text()


@pytest.fixture(scope="module")
def tapped_pytest_run(live_server_proc) -> str:
    """A real tap of a program whose failing assertion no rule reports as an event."""
    program = (
        "print('collected 1 item');"
        "[print(f'progress {i}') for i in range(40)];"
        "print('E       assert 4 == 5');"
        "print('1 failed')"
    )
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "tap",
            "--pipe",
            "--no-live",
            "--",
            sys.executable,
            "-c",
            program,
        ],
        cwd=ROOT,
        env=live_server_proc.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return (
        live_server_proc.shell(
            "from sessions.models import ProcessSession; "
            "print(ProcessSession.objects.filter(command_line__contains='assert 4 == 5')"
            ".latest('started_at').session_id)"
        )
        .strip()
        .splitlines()[-1]
    )


def test_a_line_no_rule_matched_is_found_and_opens_the_terminal_at_it(open_page, tapped_pytest_run):
    page = open_page("/search/?q=ASSERT+4+%3D%3D+5")
    result = page.locator(f"#output-results li[data-session='{tapped_pytest_run}']")
    result.wait_for()
    assert result.get_attribute("data-line") == "42"
    assert result.locator("mark.hit").inner_text() == "assert 4 == 5"
    assert "E       assert 4 == 5" in result.locator(".output-line").inner_text()
    result.locator(".output-line").click()
    page.wait_for_url(f"**/sessions/{tapped_pytest_run}/?line=42")
    page.wait_for_selector("#terminal .xterm-rows:has-text('assert 4 == 5')")
    # The line is marked in the terminal, as an event's line is.
    page.wait_for_function(
        "() => document.querySelectorAll('#terminal .xterm-selection div').length > 0"
    )
    assert page.locator("#terminal-window").is_hidden()  # a short session needs no window
    assert page.errors == []


@pytest.fixture(scope="module")
def long_session(live_server_proc) -> str:
    lines = [f"line {i:05d} of the long run\r\n" for i in range(1, LONG_LINES + 1)]
    chunks = [(i * 0.001, "".join(lines[i : i + 500])) for i in range(0, LONG_LINES, 500)]
    events = [(0.0, "warning", "line 00001 of the long run", 1)]
    return recorded_session(live_server_proc, "long-run-e2e", chunks, events, cols=100, rows=24)


def test_an_event_on_line_1_of_a_30000_line_run_shows_line_1_in_a_window(open_page, long_session):
    page = open_page(f"/sessions/{long_session}/")
    # The live tail is shown first: line 1 has left xterm's 20,000-line scrollback.
    page.wait_for_selector(
        f"#terminal .xterm-rows:has-text('line {LONG_LINES:05d}')", timeout=LOAD_TIMEOUT
    )
    assert page.locator("#terminal-window").is_hidden()
    page.locator("#timeline li[data-seq='1']").click()
    notice = page.locator("#terminal-window")
    notice.wait_for(state="visible")
    assert re.search(r"lines 1–400 of 30,000\b", notice.inner_text())
    page.wait_for_selector("#terminal .xterm-rows:has-text('line 00001 of the long run')")
    assert "line 09977" not in rows_text(page)
    page.wait_for_function(
        "() => document.querySelectorAll('#terminal .xterm-selection div').length > 0"
    )
    # Later lines, then back to the live tail.
    page.click("#terminal-window-later")
    page.wait_for_function(
        "() => /lines 401–800 of 30,000/.test(document.querySelector('#terminal-window').textContent)"
    )
    page.wait_for_selector("#terminal .xterm-rows:has-text('line 00401')")
    page.click("#terminal-window-live")
    notice.wait_for(state="hidden")
    page.wait_for_selector(f"#terminal .xterm-rows:has-text('line {LONG_LINES:05d}')")
    assert page.errors == []


def test_a_search_result_deep_in_a_long_run_opens_its_window(open_page, long_session):
    page = open_page(f"/sessions/{long_session}/?line=5000")
    notice = page.locator("#terminal-window")
    notice.wait_for(state="visible")
    assert "lines 4,800–5,199 of 30,000" in notice.inner_text()
    page.wait_for_selector("#terminal .xterm-rows:has-text('line 05000 of the long run')")
    assert page.errors == []


def test_the_terminal_search_box_finds_text_in_the_buffer(open_page, long_session):
    page = open_page(f"/sessions/{long_session}/")
    page.wait_for_selector(
        f"#terminal .xterm-rows:has-text('line {LONG_LINES:05d}')", timeout=LOAD_TIMEOUT
    )
    page.fill("#terminal-search", "line 25000 of")
    page.wait_for_function(
        "() => document.querySelector('#terminal-search-count').textContent === '1 of 1'"
    )
    # The match scrolled into view and is selected.
    page.wait_for_selector("#terminal .xterm-rows:has-text('line 25000 of the long run')")
    assert page.evaluate("() => window.getSelection !== undefined")
    page.fill("#terminal-search", "no such text anywhere")
    page.wait_for_function(
        "() => document.querySelector('#terminal-search-count').textContent === 'no match'"
    )
    # Beyond the buffer: the link searches every line the session printed.
    href = page.get_attribute("#terminal-search-all", "href")
    assert href == f"/search/?session={long_session}&q=no%20such%20text%20anywhere"
    assert page.errors == []
