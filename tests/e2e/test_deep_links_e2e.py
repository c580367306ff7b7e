"""Every session page leads to its replay and its .cast; an event has a permalink that opens the
session at it; links can be copied."""

from __future__ import annotations

import json

import pytest

from tests.e2e.recorded import recorded_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LINES = 300
# (offset, type, content, line): an error printed on line 120 of 300, well above the last screen.
EVENTS = [
    (10.0, "warning", "WARNING: early", 20),
    (60.0, "error", "ValueError: on line 120", 120),
    (140.0, "error", "KeyError: near the end", 280),
]


@pytest.fixture(scope="module")
def linked_session(live_server_proc) -> str:
    output = [(i * 0.5, f"output line {i + 1:03d}\r\n") for i in range(LINES)]
    return recorded_session(live_server_proc, "linked-e2e-1", output, EVENTS, duration=150.0)


def visible_terminal(page) -> str:
    return page.locator("#terminal .xterm-rows").inner_text()


def test_the_session_page_leads_to_its_replay_and_recording(open_page, linked_session):
    page = open_page(f"/sessions/{linked_session}/")
    with page.expect_download() as download:
        page.click("#session-download")
    assert download.value.suggested_filename == f"{linked_session}.cast"
    header, *lines = open(download.value.path()).read().splitlines()
    assert json.loads(header)["version"] == 2 and len(lines) == LINES
    page.click("#session-replay")
    page.wait_for_url(f"**/sessions/{linked_session}/replay/")
    page.wait_for_selector("#replay[data-state=playing], #replay[data-state=paused]")
    assert page.errors == []


def test_an_event_permalink_opens_the_session_at_that_event(open_page, linked_session):
    page = open_page(f"/sessions/{linked_session}/?event=2")
    selected = page.locator("#timeline li.selected")
    selected.wait_for()
    assert selected.get_attribute("data-seq") == "2"
    assert selected.is_visible()
    # The terminal shows the event's line, not the end of the output.
    page.wait_for_selector("#terminal .xterm-rows:has-text('output line 120')")
    assert f"output line {LINES:03d}" not in visible_terminal(page)
    # Its line is marked, and the page did not scroll away from the session's header.
    assert page.locator("#terminal .xterm-selection div").count() > 0
    assert page.evaluate("window.scrollY") == 0
    # From the event: the replay at its moment.
    selected.locator("[data-action=replay]").click()
    page.wait_for_url("**/replay/?t=60.0")
    page.wait_for_selector("#replay[data-state=paused]")
    assert page.get_attribute("#replay", "data-position") == "60.000"
    assert page.errors == []


def test_clicking_an_event_makes_the_address_its_permalink_and_copy_link_copies_it(
    browser, live_server_proc, linked_session
):
    from tests.e2e.conftest import open_logged_in

    page = open_logged_in(browser, live_server_proc)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server_proc.base_url}/sessions/{linked_session}/")
    page.locator("#timeline li[data-seq='3']").click()
    permalink = f"{live_server_proc.base_url}/sessions/{linked_session}/?event=3"
    assert page.url == permalink
    assert (
        page.locator("#timeline li.selected [data-action=permalink]").get_attribute("href")
        == permalink
    )
    page.click("#copy-link")
    page.wait_for_selector("#copy-link:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == permalink

    # The copied link, opened afresh, shows the same event.
    other = page.context.new_page()
    other.goto(page.evaluate("navigator.clipboard.readText()"))
    other.locator("#timeline li.selected[data-seq='3']").wait_for()
    other.wait_for_selector("#terminal .xterm-rows:has-text('output line 280')")

    # The replay's copy link carries the moment shown.
    page.goto(f"{live_server_proc.base_url}/sessions/{linked_session}/replay/?t=75")
    page.wait_for_selector("#replay[data-state=paused]")
    page.click("#replay-copy-link")
    page.wait_for_selector("#replay-copy-link:has-text('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server_proc.base_url}/sessions/{linked_session}/replay/?t=75.0"
    assert page.errors == []
    page.context.close()


def test_an_events_list_row_links_to_the_session_at_that_event(open_page, linked_session):
    page = open_page(f"/events/?session={linked_session}&type=error")
    page.locator("#events-body tr[data-seq='2'] a[data-field=lines]").click()
    page.wait_for_url(f"**/sessions/{linked_session}/?event=2")
    page.locator("#timeline li.selected[data-seq='2']").wait_for()
