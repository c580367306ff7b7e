"""Problems in a real browser: a real `tap` run, then the Problems page and a group's page."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import open_logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The same failure 44 times (other attempt numbers and times), then a traceback. (A traceback
# right after a log line belongs to that line's event: a plain line keeps them apart.) All on
# stdout: under `tap --pipe` stdout and stderr are two pipes, and a block-buffered stdout flushed
# at exit could land between a stderr traceback's lines (1 run in 25 on a busy machine).
PROGRAM = """
import datetime, sys, traceback
for attempt in range(1, 45):
    now = datetime.datetime.now().isoformat()
    print(f"{now} ERROR upload attempt {attempt}: e2e-store refused after {attempt * 7} ms")
print("giving up on uploads")
def load():
    raise RuntimeError("could not load e2e configuration")
try:
    load()
except RuntimeError:
    traceback.print_exc(file=sys.stdout)
"""


@pytest.fixture(scope="module")
def tapped(live_server_proc):
    live_server_proc.manage("tap", "--agent", "e2e-problems", "--", sys.executable, "-c", PROGRAM)
    return live_server_proc


def test_problems_page_groups_a_retry_loop_and_opens_its_replay(logged_in_page, tapped):
    page = logged_in_page
    page.goto(f"{tapped.base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Problems").click()
    page.wait_for_url("**/problems/")
    expect(page.get_by_role("link", name="Problems")).to_have_attribute("aria-current", "page")

    page.select_option("select[name=agent]", "e2e-problems")
    page.select_option("select[name=order]", "count")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#problems-table tbody tr[data-group]")
    expect(rows).to_have_count(2)
    retry = rows.nth(0)
    expect(retry.locator("[data-field=title]")).to_contain_text("ERROR upload attempt 1:")
    expect(retry.locator("[data-field=count]")).to_have_text("44")
    expect(retry.locator("[data-field=sessions]")).to_have_text("1")
    # The sparkline has a line with a peak: its occurrences fall in the last 24 hours.
    points = retry.locator("svg.sparkline polyline").get_attribute("points")
    assert len(points.split()) == 24
    crash = rows.nth(1)
    expect(crash.locator("[data-field=title]")).to_have_text(
        "RuntimeError: could not load e2e configuration"
    )
    expect(crash.locator("[data-field=count]")).to_have_text("1")

    crash.locator("[data-field=title]").click()
    page.wait_for_url("**/problems/*/")
    expect(page.locator("[data-field=traceback]")).to_contain_text("Traceback (most recent call")
    expect(page.locator("[data-field=traceback]")).to_contain_text("in load")
    page.locator("#occurrences-table [data-field=replay]").first.click()
    page.wait_for_url("**/replay/**")
    assert page.errors == []


def test_a_traceback_is_previewed_by_its_exception_line_everywhere(logged_in_page, tapped):
    page = logged_in_page
    exception = "RuntimeError: could not load e2e configuration"
    session_id = tapped.shell(
        "from extraction.models import ExtractionEvent; "
        "print(ExtractionEvent.objects.get(rule='python_traceback', agent_name='e2e-problems')"
        ".session.session_id)"
    ).strip()

    page.goto(f"{tapped.base_url}/events/?agent=e2e-problems")
    expect(page.locator("#events-body [data-field=headline]", has_text=exception)).to_have_count(1)

    page.goto(f"{tapped.base_url}/sessions/{session_id}/")
    expect(page.locator("#timeline li.t-error .line", has_text=exception)).to_have_count(1)
    expect(page.locator("#timeline li .line", has_text="Traceback (most recent")).to_have_count(0)

    page.goto(f"{tapped.base_url}/sessions/{session_id}/replay/")
    expect(page.locator("#replay-events .what", has_text=exception)).to_have_count(1)
    expect(page.locator("#replay-events .what", has_text="Traceback (most")).to_have_count(0)

    # The review queue: the traceback is reviewed as its group, titled by the exception.
    page.goto(f"{tapped.base_url}/admin/extraction/errorgroup/")
    expect(page.locator("#result_list", has_text=exception)).to_have_count(1)
    assert page.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_problem_pages_pass_axe(browser, tapped, scheme):
    page = open_logged_in(browser, tapped, color_scheme=scheme)
    page.goto(f"{tapped.base_url}/problems/?agent=e2e-problems")
    page.wait_for_selector("#problems-table svg.sparkline")
    found = axe_violations(page, tapped.base_url)
    page.locator("#problems-table [data-field=title]").first.click()
    page.wait_for_selector("#occurrences-table")
    found += axe_violations(page, tapped.base_url)
    page.context.close()
    assert not found, "\n".join(found)
