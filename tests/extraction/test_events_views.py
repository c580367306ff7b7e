"""The Events page: filters in the URL read as the API reads them, keyset pages, a bounded count,
time presets, and CSV/NDJSON downloads of the filtered list."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from extraction import queries
from extraction.models import ExtractionEvent
from tests.extraction.group_factories import make_group
from tests.factories import make_event, make_session, make_token

URL = reverse("st-events")
EXPORT = reverse("st-events-export")
API = reverse("st-api-query-extractions")
# make_event's content when a test names none.
TRACEBACK = "Traceback (most recent call last):\nValueError: boom"


def shown(client, params) -> set[tuple[str, int]]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.context["errors"]
    return {(e.session.session_id, e.seq) for e in response.context["page"].events}


def body_of(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_each_filter_narrows_the_list(client_in):
    now = timezone.now()
    one = make_session("codex", session_id="codex-1")
    two = make_session("claude", session_id="claude-2")
    # Session, seq, minutes ago, then the event's own columns.
    columns = ("event_type", "rule", "severity", "risk_level", "content")
    for session, seq, minutes, *values in [
        (one, 1, 5, "error", "python_traceback", "error", "medium", "Traceback boom"),
        (one, 2, 30, "warning", "deprecation", "warning", "low", TRACEBACK),
        (two, 1, 2 * 60, "prompt", "prompt_yes_no", "error", "high", "Delete all? [y/N]"),
        (two, 2, 3 * 24 * 60, "metric", "pytest_summary", "info", "low", TRACEBACK),
    ]:
        at = now - timedelta(minutes=minutes)
        make_event(session, seq=seq, timestamp=at, **dict(zip(columns, values, strict=True)))

    assert len(shown(client_in, {})) == 4
    assert shown(client_in, {"agent": "claude"}) == {("claude-2", 1), ("claude-2", 2)}
    assert shown(client_in, {"session": "codex-1"}) == {("codex-1", 1), ("codex-1", 2)}
    assert shown(client_in, {"type": "warning"}) == {("codex-1", 2)}
    assert shown(client_in, {"risk": "high"}) == {("claude-2", 1)}
    assert shown(client_in, {"severity": "info"}) == {("claude-2", 2)}
    assert shown(client_in, {"level": "info"}) == {("claude-2", 2)}
    assert shown(client_in, {"review": "confirmed"}) == set()
    assert shown(client_in, {"rule": "prompt_yes_no"}) == {("claude-2", 1)}
    assert shown(client_in, {"q": "DELETE ALL"}) == {("claude-2", 1)}
    assert shown(client_in, {"range": "15m"}) == {("codex-1", 1)}
    assert shown(client_in, {"range": "1h"}) == {("codex-1", 1), ("codex-1", 2)}
    assert len(shown(client_in, {"range": "24h"})) == 3
    assert len(shown(client_in, {"range": "7d"})) == 4
    assert shown(client_in, {"range": "1h", "type": "error"}) == {("codex-1", 1)}
    three_days_ago = (now - timedelta(days=3)).date().isoformat()
    assert shown(client_in, {"since": three_days_ago, "until": three_days_ago}) == {("claude-2", 2)}


def test_group_filter_selects_one_problems_occurrences(client_in):
    session = make_session("codex")
    group = make_group("f" * 32, timezone.now())
    make_event(session, seq=1, group=group)
    make_event(session, seq=2, group=group)
    make_event(session, seq=3)

    assert {seq for _sid, seq in shown(client_in, {"group": group.fingerprint})} == {1, 2}
    html = client_in.get(URL).content.decode()
    assert f"group={group.fingerprint}" in html  # each occurrence links to its problem's list


def test_a_time_with_an_offset_or_in_tz_is_that_instant(client_in):
    session = make_session("codex")
    make_event(session, seq=1, timestamp=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    make_event(session, seq=2, timestamp=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))

    # 10:30 in Berlin (UTC+1) is 09:30 UTC.
    assert {s for _i, s in shown(client_in, {"since": "2026-11-26T10:30:00+01:00"})} == {2}
    assert {
        s for _i, s in shown(client_in, {"since": "2026-11-26T10:30", "tz": "Europe/Berlin"})
    } == {2}
    # Without an offset or tz a time is UTC.
    assert {s for _i, s in shown(client_in, {"since": "2026-11-26T09:30"})} == {2}


def test_until_is_exclusive_on_the_page_and_in_the_api_alike(client_in, watcher):
    session = make_session("codex")
    boundary = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
    make_event(session, seq=1, timestamp=boundary - timedelta(microseconds=1))
    at_until = make_event(session, seq=2, timestamp=boundary)
    params = {"until": "2026-11-26T11:15:00+01:00"}

    on_page = {e.id for e in client_in.get(URL, params).context["page"].events}
    token = make_token(watcher)
    in_api = {
        e["id"]
        for e in client_in.get(API, params, HTTP_AUTHORIZATION=f"Token {token}").json()["results"]
    }
    assert on_page == in_api
    assert at_until.id not in on_page and len(on_page) == 1
    # `since` at the same instant holds it: two windows sharing an edge never share an event.
    assert {
        e.id for e in client_in.get(URL, {"since": params["until"]}).context["page"].events
    } == {at_until.id}


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"type": "explosion"}, "type", "must be one of error"),
        ({"since": "yesterday"}, "since", "ISO 8601"),
        ({"range": "2h"}, "range", "must be one of 15m, 1h, 24h, 7d"),
        ({"range": "1h", "since": "2026-11-26"}, "range", "not both"),
        ({"tz": "Mars/Olympus"}, "tz", "unknown time zone"),
        ({"level": "info", "severity": "error"}, "level", "contradicts severity"),
        ({"session": "no-such-session"}, "session", "unknown session"),
        ({"agnet": "codex"}, "agnet", "unknown parameter"),
    ],
)
def test_a_bad_parameter_is_a_400_page_that_says_why(client_in, params, parameter, says):
    response = client_in.get(URL, params)
    assert response.status_code == 400
    html = response.content.decode()
    message = next(e for e in response.context["errors"] if e.startswith(f"{parameter}:"))
    assert says in message
    assert "Fix the filters above" in html


def test_keyset_pages_walk_everything_once(client_in):
    session = make_session("busy")
    moment = timezone.now()
    for seq in range(1, 131):
        # Many events share a timestamp: the cursor must break ties by id.
        make_event(session, seq=seq, timestamp=moment - timedelta(seconds=seq // 10))
    seen, cursor, pages = [], "", 0
    while True:
        page = queries.events_page({}, cursor=cursor)
        seen += [e.seq for e in page.events]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == list(range(1, 131))
    assert len(seen) == len(set(seen))
    assert pages == 3
    # A mangled cursor of the page's own "Older" link is the first page, not an error.
    assert client_in.get(URL, {"before": "garbage!!"}).status_code == 200


def test_the_count_is_shown_and_bounded_and_pages_use_no_offset(client_in, monkeypatch):
    session = make_session("busy")
    for seq in range(1, 60):
        make_event(session, seq=seq)
    with CaptureQueriesContext(connection) as captured:
        response = client_in.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="events-count"[^>]*><strong data-field="count">59</strong>', html)
    sql = [
        q["sql"].upper()
        for q in captured.captured_queries
        if "EXTRACTION_EVENTS" in q["sql"].upper()
    ]
    assert not any(re.search(r"\bOFFSET\s+\d", s) for s in sql)
    counts = [s for s in sql if "COUNT(" in s]
    assert len(counts) == 1 and "LIMIT" in counts[0]  # never a count of the whole table

    monkeypatch.setattr(queries, "COUNT_CAP", 50)
    html = client_in.get(URL).content.decode()
    assert re.search(r'<strong data-field="count">50\+</strong>', html)


def test_presets_keep_the_other_filters_and_mark_the_active_one(client_in):
    make_event(make_session("codex"))
    html = client_in.get(URL, {"type": "error", "range": "1h", "before": "x"}).content.decode()
    presets = dict(re.findall(r'data-range="(\w+)" href="\?([^"]*)"', html))
    assert set(presets) == {"15m", "1h", "24h", "7d"}
    assert parse_qs(presets["24h"].replace("&amp;", "&")) == {"type": ["error"], "range": ["24h"]}
    assert re.search(r'data-range="1h" href="[^"]*" aria-current="true"', html)


def test_export_links_carry_the_filters_with_the_preset_fixed_at_its_start(client_in):
    make_event(make_session("codex"))
    before = timezone.now()
    html = client_in.get(URL, {"type": "error", "range": "1h"}).content.decode()
    href = re.search(r'id="export-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    url = urlparse(href)
    query = parse_qs(url.query)
    assert url.path == EXPORT
    assert query["format"] == ["csv"] and query["type"] == ["error"] and "range" not in query
    since = datetime.fromisoformat(query["since"][0])
    assert before - timedelta(hours=1, seconds=5) <= since <= timezone.now() - timedelta(hours=1)


def test_csv_export_holds_the_filtered_events_and_defuses_formulas(client_in):
    session = make_session("codex", session_id="codex-x")
    make_event(session, seq=1, content='=HYPERLINK("http://evil","x")', rule="python_traceback")
    make_event(session, seq=2, content="@SUM(A1)", rule="python_traceback")
    make_event(session, seq=3, event_type="warning", rule="deprecation", content="-1+2")

    response = client_in.get(EXPORT, {"format": "csv", "rule": "python_traceback"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(body_of(response))))
    assert [int(r["seq"]) for r in rows] == [2, 1]  # newest first
    assert rows[0]["content"] == "'@SUM(A1)"
    assert rows[1]["content"] == '\'=HYPERLINK("http://evil","x")'
    assert rows[0]["session"] == "codex-x"
    assert datetime.fromisoformat(rows[0]["timestamp"].replace("Z", "+00:00")).tzinfo is not None


def test_ndjson_export_is_the_api_event_shape_line_by_line(client_in, watcher):
    session = make_session("codex")
    for seq in (1, 2, 3):
        make_event(session, seq=seq)
    response = client_in.get(EXPORT, {"format": "ndjson", "session": session.session_id})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = body_of(response).splitlines()
    events = [json.loads(line) for line in lines]
    token = make_token(watcher)
    api = client_in.get(API, {"session": session.session_id}, HTTP_AUTHORIZATION=f"Token {token}")
    assert events == api.json()["results"]


def test_an_empty_export_still_has_its_header(client_in):
    make_session("codex")
    text = body_of(client_in.get(EXPORT, {"agent": "nobody"}))
    assert text.splitlines() == [text.splitlines()[0]]
    assert text.startswith("id,session,seq,")


def test_export_needs_a_login_and_valid_filters(client_in):
    assert Client().get(EXPORT).status_code == 302  # to the login page
    response = client_in.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 400
    assert "format" in response.json()["errors"]


def test_export_walks_more_than_one_chunk_in_order(client_in, monkeypatch):
    from extraction import export

    monkeypatch.setattr(export, "EXPORT_CHUNK", 7)
    session = make_session("busy")
    moment = timezone.now()
    for seq in range(1, 31):
        make_event(session, seq=seq, timestamp=moment - timedelta(seconds=seq // 4))
    lines = body_of(client_in.get(EXPORT, {"format": "ndjson"})).splitlines()
    expected = list(
        ExtractionEvent.objects.order_by("-timestamp", "-id").values_list("seq", flat=True)
    )
    assert [json.loads(line)["seq"] for line in lines] == expected


def test_the_overviews_top_rules_open_the_list_of_that_rule(client_in):
    session = make_session("codex")
    make_event(session, seq=1, rule="npm_error", timestamp=timezone.now())
    make_event(session, seq=2, rule="python_traceback", content="npm_error mentioned")
    html = client_in.get(reverse("st-overview")).content.decode()
    href = re.search(r'href="(/events/\?rule=npm_error[^"]*)"', html).group(1)
    response = client_in.get(href.replace("&amp;", "&"))
    assert [e.seq for e in response.context["page"].events] == [1]
