"""The Events page in a real browser (Europe/Berlin): a time preset, the count, rule and problem
filters, CSV and NDJSON downloads, the time zone shown, and "until" read as the API reads it."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import open_logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AGENT = "e2e-filters"
FINGERPRINT = "e2efilters" + "0" * 22
BERLIN = ZoneInfo("Europe/Berlin")
# An event exactly at the "until" a person picks, and one a second before it.
BOUNDARY = datetime(2026, 11, 26, 9, 15, tzinfo=ZoneInfo("UTC"))

SEED = f"""
from datetime import datetime, timedelta, timezone as tz
from django.utils import timezone
from extraction.models import ErrorGroup
from tests.factories import make_event, make_session

now = timezone.now()
session = make_session({AGENT!r}, session_id="e2e-filters-1", started_at=now - timedelta(hours=4))
group = ErrorGroup.objects.create(
    fingerprint={FINGERPRINT!r}, event_type="error", rule="python_traceback",
    title="ValueError: e2e", risk_level="medium", first_seen=now, last_seen=now,
)
def ago(**delta):
    return now - timedelta(**delta)
make_event(session, seq=1, timestamp=ago(minutes=50), group=group, content="ValueError: e2e one")
make_event(session, seq=2, timestamp=ago(minutes=40), group=group, content="ValueError: e2e two")
make_event(session, seq=3, timestamp=ago(minutes=30), content="KeyError: other")
make_event(session, seq=4, timestamp=ago(minutes=20), event_type="warning", rule="deprecation",
           severity="warning", risk_level="low", content="=cmd|' /C calc'!A0")
make_event(session, seq=5, timestamp=ago(hours=3), content="old news")
boundary = datetime.fromisoformat({BOUNDARY.isoformat()!r})
make_event(session, seq=6, timestamp=boundary - timedelta(seconds=1), content="just before")
make_event(session, seq=7, timestamp=boundary, content="at the boundary")
"""


@pytest.fixture(scope="module")
def seeded(live_server_proc):
    live_server_proc.shell(SEED)
    return live_server_proc


@pytest.fixture
def berlin_page(browser, seeded):
    page = open_logged_in(browser, seeded, timezone_id="Europe/Berlin", accept_downloads=True)
    yield page
    page.context.close()


def count_of(page) -> str:
    return page.locator("#events-count [data-field=count]").inner_text()


def api(page, base_url: str, **params) -> list[dict]:
    response = page.request.get(f"{base_url}/api/query/extractions", params=params)
    assert response.ok, response.text()
    return response.json()["results"]


def download(page, selector: str) -> str:
    with page.expect_download() as info:
        page.click(selector)
    return open(info.value.path(), encoding="utf-8").read()


def test_last_hour_by_rule_and_problem_then_downloads(berlin_page, seeded):
    page, base = berlin_page, seeded.base_url
    page.goto(f"{base}/events/?agent={AGENT}")
    expect(page.locator("#events-count")).to_be_visible()
    assert count_of(page) == "7"

    # The times are Berlin's, the zone is named, and hovering a time gives UTC.
    expect(page.locator(".zone-note [data-zone-label]")).to_contain_text("Europe/Berlin")
    expect(page.locator("thead [data-zone-label]")).to_contain_text("UTC+01:00")
    at_boundary = page.locator("#events-body tr[data-seq='7'] time")
    expect(at_boundary).to_have_text("2026-11-26 10:15:00")
    expect(at_boundary).to_have_attribute("title", "2026-11-26 09:15:00 UTC")

    page.get_by_role("navigation", name="Time range").get_by_role("link", name="1 hour").click()
    page.wait_for_url(re.compile(r"range=1h"))
    assert parse_qs(urlparse(page.url).query)["agent"] == [AGENT]
    expect(page.locator("#events-count")).to_contain_text("4 matching events in the last 1 hour")
    expect(page.locator(".presets [aria-current]")).to_have_text("1 hour")

    page.locator("#events-body tr[data-seq='4'] [data-field=rule]").click()
    page.wait_for_url(re.compile(r"rule=deprecation"))
    assert count_of(page) == "1"
    text = download(page, "#export-csv")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["rule"] == "deprecation"
    # A formula a spreadsheet would run stays text.
    assert row["content"] == "'=cmd|' /C calc'!A0"

    page.go_back()
    page.wait_for_url(re.compile(r"range=1h"))
    page.locator("#events-body tr[data-seq='1'] [data-field=group]").click()
    page.wait_for_url(re.compile(rf"group={FINGERPRINT}"))
    assert count_of(page) == "2"
    expect(page.locator("#events-body tr[data-seq]")).to_have_count(2)

    text = download(page, "#export-ndjson")
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["seq"] for e in events] == [2, 1]
    assert all(e["group"] == FINGERPRINT for e in events)
    assert events == api(page, base, agent=AGENT, group=FINGERPRINT)

    text = download(page, "#export-csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["seq"]) for r in rows] == [2, 1]
    assert {r["content"] for r in rows} == {"ValueError: e2e one", "ValueError: e2e two"}

    assert axe_violations(page, base) == []
    assert page.errors == []


def pick(page, url: str, field: str, moment: str) -> str:
    """Types ``moment`` into the picker ``field`` on ``url`` and filters: the value sent."""
    page.goto(url)
    page.fill(f"input[name={field}]", moment)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"{field}="))
    [sent] = parse_qs(urlparse(page.url).query)[field]
    return sent


def test_until_picked_in_the_browsers_zone_is_the_apis_until(berlin_page, seeded):
    page, base = berlin_page, seeded.base_url
    # 10:15 in Berlin is the boundary event's instant, 09:15 UTC; until is exclusive.
    sent = pick(page, f"{base}/events/?agent={AGENT}", "until", "2026-11-26T10:15")
    assert sent == "2026-11-26T10:15:00+01:00"
    on_page = [
        int(s)
        for s in page.locator("#events-body tr[data-seq]").evaluate_all(
            "rows => rows.map(r => r.dataset.seq)"
        )
    ]
    assert on_page == [6]
    assert [e["seq"] for e in api(page, base, agent=AGENT, until=sent)] == on_page
    # The picker shows what was picked, in the browser's zone.
    expect(page.locator("input.moment[data-iso]").nth(1)).to_have_value("2026-11-26T10:15")
    assert page.errors == []


def test_the_problems_pickers_follow_the_same_time_rule(berlin_page, seeded):
    page, base = berlin_page, seeded.base_url
    sent = pick(page, f"{base}/problems/?agent={AGENT}", "since", "2026-11-26T10:15")
    assert sent == "2026-11-26T10:15:00+01:00"
    expect(page.locator("input.moment").first).to_have_value("2026-11-26T10:15")
    assert page.errors == []
