"""The dashboard in a real browser against a real daphne (see conftest.py for the fixtures)."""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import websockets
from playwright.sync_api import expect

from tests.e2e.helpers import PAGE_MARKS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def test_login_is_required_and_wrong_password_refused(anonymous_page, live_server_proc):
    page = anonymous_page
    page.goto(f"{live_server_proc.base_url}/events/")
    assert "/login/" in page.url
    page.fill("input[name=username]", live_server_proc.username)
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "/login/" in page.url
    assert page.locator(".errorlist").is_visible()
    page.fill("input[name=username]", live_server_proc.username)
    page.fill("input[name=password]", live_server_proc.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server_proc.base_url}/events/")


@pytest.mark.parametrize(
    "path, live", [("/", True), ("/sessions/", True), ("/events/", True), ("/code-blocks/", False)]
)
def test_pages_render_without_script_errors(logged_in_page, live_server_proc, demo, path, live):
    page = logged_in_page
    page.goto(f"{live_server_proc.base_url}{path}")
    page.wait_for_selector(PAGE_MARKS[path])
    if live:
        # Selectors and locators, not wait_for_function: the pages' CSP forbids eval.
        page.wait_for_selector("#live-indicator[data-state=open]")
    assert page.errors == []


def test_session_page_plays_the_recording_and_lists_events(logged_in_page, live_server_proc, demo):
    page = logged_in_page
    page.goto(f"{live_server_proc.base_url}/sessions/{demo['main_session']}/")
    page.wait_for_selector("#terminal .xterm-rows")
    page.locator("#timeline li").nth(9).wait_for()
    page.wait_for_selector("#metrics .metric-card .uplot")
    terminal_text = page.inner_text("#terminal .xterm-rows")
    assert "Apply this patch" in terminal_text
    # Clicking an event scrolls the terminal to (about) its line.
    page.locator("#timeline li.t-error").first.click()
    expect(page.locator("#terminal .xterm-rows")).to_contain_text("Traceback")
    assert page.errors == []


def test_events_filters_live_in_the_url(logged_in_page, live_server_proc, demo):
    page = logged_in_page
    page.goto(f"{live_server_proc.base_url}/events/")
    page.select_option("select[name=type]", "warning")
    page.select_option("select[name=agent]", "claude")
    page.click("#event-filters button[type=submit]")
    page.wait_for_url("**/events/?*type=warning*")
    assert "agent=claude" in page.url
    types = page.locator("#events-body [data-field=type]").all_inner_texts()
    agents = page.locator("#events-body [data-field=agent]").all_inner_texts()
    assert types and set(types) == {"warning"}
    assert set(agents) == {"claude"}
    # The same URL in a fresh page shows the same view.
    shared = page.url
    page.goto(f"{live_server_proc.base_url}/events/")
    page.goto(shared)
    assert page.locator("select[name=type]").input_value() == "warning"
    assert set(page.locator("#events-body [data-field=type]").all_inner_texts()) == {"warning"}
    # Older pages by cursor.
    page.goto(f"{live_server_proc.base_url}/events/")
    first_page = page.locator("#events-body tr[data-seq]").count()
    page.click("#older-link")
    page.wait_for_url(lambda url: "before=" in url)
    assert page.locator("#events-body tr[data-seq]").count() > 0
    assert first_page == 50


def test_hostile_output_renders_as_text(logged_in_page, live_server_proc, demo):
    page = logged_in_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server_proc.base_url}/events/?q=pwned")
    content = page.locator("#events-body [data-field=content]").first
    assert '<script>alert("pwned")</script>' in content.inner_text()
    assert page.locator("#events-body img").count() == 0
    page.goto(f"{live_server_proc.base_url}/code-blocks/?language=html")
    assert "<img src=x onerror=alert(1)>" in page.locator("code").first.inner_text()
    assert page.locator("#code-blocks img").count() == 0
    page.goto(f"{live_server_proc.base_url}/sessions/{demo['hostile_session']}/")
    page.locator("#timeline li").first.wait_for()
    assert page.locator("#timeline img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


def in_thread(coroutine_fn):
    """asyncio.run in a worker thread: Playwright's sync API keeps a loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_fn())).result(timeout=30)


def test_anonymous_websocket_is_refused(live_server_proc):
    async def attempt():
        async with websockets.connect(
            f"{live_server_proc.ws_url}/ws/live/", origin=live_server_proc.base_url
        ) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code
            return None

    assert in_thread(attempt) == 4401


def test_foreign_origin_websocket_is_refused(live_server_proc):
    async def attempt():
        async with websockets.connect(
            f"{live_server_proc.ws_url}/ws/live/", origin="http://evil.example"
        ):
            pass

    with pytest.raises(websockets.InvalidStatus):
        in_thread(attempt)


def test_every_page_renders_without_script_errors(logged_in_page, live_server_proc, demo, tmp_path):
    """Screenshots of each page; STREAMTAP_SCREENSHOTS=1 refreshes the ones in docs/."""
    page = logged_in_page
    target = SCREENSHOTS if os.environ.get("STREAMTAP_SCREENSHOTS") else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    shots = [
        ("overview.png", "/", "#chart-per-minute .uplot"),
        ("sessions.png", "/sessions/", "#sessions-table tbody tr"),
        ("session.png", f"/sessions/{demo['main_session']}/", "#metrics .uplot"),
        ("events.png", "/events/", "#events-body tr"),
        ("code-blocks.png", "/code-blocks/", "code.hljs"),
        ("problems.png", "/problems/", "#problems-table tbody tr"),
    ]
    for name, path, ready in shots:
        page.goto(f"{live_server_proc.base_url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_timeout(400)
        page.screenshot(path=str(target / name), full_page=False)
        assert (target / name).stat().st_size > 10_000  # a rendered page, not a blank one
    assert page.errors == []


def publish(server, *frames: dict) -> None:
    """Push live.batch frames through the server's ingest websocket, as a tap does."""
    from django.core import signing

    from sessions.live import INGEST_SALT

    secret = (server.data_dir / ".secret_key").read_text().strip()
    signed = signing.dumps({"purpose": "ingest"}, key=secret, salt=INGEST_SALT)

    async def send():
        async with websockets.connect(
            f"{server.ws_url}/ws/ingest/",
            origin=server.base_url,
            additional_headers={"X-Streamtap-Ingest": signed},
        ) as ws:
            for frame in frames:
                await ws.send(json.dumps({"type": "live.batch", **frame}))
            await asyncio.sleep(0.2)

    in_thread(send)


def live_event(session_id: str, seq: int, content: str, event_type: str = "error") -> dict:
    return {
        "session": session_id,
        "seq": seq,
        "agent_name": "codex",
        "event_type": event_type,
        "rule": "live_rule",
        "severity": "error",
        "risk_level": "medium",
        "auto_confirmable": False,
        "line_start": 1,
        "line_end": 1,
        "content": content,
        "context": "",
        "metadata": {},
        "timestamp": "2030-01-01T00:00:00+00:00",
        "offset_seconds": 99.0,
        "review_status": "pending",
    }


def test_live_events_output_and_gaps_reach_the_session_page(logged_in_page, live_server_proc, demo):
    page = logged_in_page
    sid = demo["main_session"]
    last_seq = int(
        live_server_proc.shell(
            "from extraction.models import ExtractionEvent as E;"
            f"print(E.objects.filter(session__session_id={sid!r}).order_by('-seq')[0].seq)"
        ).strip()
    )
    page.goto(f"{live_server_proc.base_url}/sessions/{sid}/")
    page.wait_for_selector("#live-indicator[data-state=open]")
    page.locator(f"#timeline li[data-seq='{last_seq}']").wait_for()
    before = page.locator("#timeline li").count()

    publish(
        live_server_proc,
        {
            "session": sid,
            "events": [live_event(sid, last_seq + 1, "live <b>bold</b> event")],
            "output": [[33, 40.0, "\x1b[35mlive output line\x1b[0m\r\n"]],
            "states": [
                {
                    "state": "waiting_for_input",
                    "timestamp": "2030-01-01T00:00:01+00:00",
                    "metadata": {},
                }
            ],
            "session_info": {"status": "waiting_for_input"},
        },
    )
    page.locator(f"#timeline li[data-seq='{last_seq + 1}']").wait_for()
    expect(page.locator("#terminal .xterm-rows")).to_contain_text("live output line")
    expect(page.locator("#waiting-banner")).to_be_visible()
    assert (
        "live <b>bold</b> event"
        in page.locator(f"#timeline li[data-seq='{last_seq + 1}']").inner_text()
    )

    # A gap: seq +2 is only in the database (its live frame was "dropped"), +3 arrives live.
    live_server_proc.shell(
        "from sessions.models import ProcessSession as P; from extraction.models import ExtractionEvent as E;"
        f"s = P.objects.get(session_id={sid!r});"
        f"E.objects.create(session=s, seq={last_seq + 2}, agent_name='codex', event_type='warning',"
        " rule='from_db', severity='warning', risk_level='low', line_start=1, line_end=1,"
        " content='recovered from the database')"
    )
    publish(
        live_server_proc,
        {"session": sid, "events": [live_event(sid, last_seq + 3, "after the gap")]},
    )
    page.locator(f"#timeline li[data-seq='{last_seq + 2}']").wait_for()
    assert page.locator("#timeline li").count() == before + 3
    assert page.errors == []


def test_events_page_prepends_matching_live_events_only(logged_in_page, live_server_proc, demo):
    page = logged_in_page
    sid = demo["hostile_session"]
    page.goto(f"{live_server_proc.base_url}/events/?type=prompt")
    page.wait_for_selector("#live-indicator[data-state=open]")
    publish(
        live_server_proc,
        {
            "session": sid,
            "events": [
                live_event(sid, 5001, "not a prompt", event_type="error"),
                live_event(
                    sid, 5002, "<img src=x onerror=alert(9)> Proceed? [y/N]", event_type="prompt"
                ),
            ],
        },
    )
    row = page.locator("#events-body tr[data-seq='5002']")
    row.wait_for()
    assert "<img src=x onerror=alert(9)>" in row.inner_text()
    assert page.locator("#events-body tr[data-seq='5001']").count() == 0
    assert page.locator("#events-body img").count() == 0


def test_live_metrics_and_states_read_clearly_on_the_session_page(
    logged_in_page, live_server_proc, demo, tmp_path
):
    page = logged_in_page
    sid = demo["main_session"]
    page.goto(f"{live_server_proc.base_url}/sessions/{sid}/")
    page.wait_for_selector("#live-indicator[data-state=open]")
    seq = 10_000
    metric = dict(
        live_event(sid, seq, "epoch=1 loss=0.25 acc=0.9", event_type="metric"),
        rule="metric_kv",
        metadata={"name": "solo_loss", "value": 0.25, "unit": None},
    )
    publish(
        live_server_proc,
        {
            "session": sid,
            "events": [metric],
            # Live state frames carry no time of their own.
            "states": [
                {
                    "state": "waiting_for_input",
                    "metadata": {
                        "question": "Deploy?",
                        "options": [{"key": "y", "label": "yes"}, {"key": "n", "label": "no"}],
                        "command": None,
                        "screen": "whole screen",
                    },
                }
            ],
        },
    )
    item = page.locator(f"#timeline li[data-seq='{seq}']")
    expect(item).to_contain_text("solo_loss = 0.25")
    card = page.locator("#metrics .metric-card", has_text="solo_loss")
    card.locator(".uplot").wait_for()
    state = page.locator("#states li").last
    expect(state).to_contain_text("question=Deploy? options=y/n")
    assert "screen" not in state.inner_text() and "None" not in state.inner_text()
    assert page.locator("#states li time").last.inner_text().strip() != ""
    card.screenshot(path=str(tmp_path / "solo-metric.png"))
    assert page.errors == []


def test_long_agent_names_and_ids_never_push_the_lists_off_a_laptop_screen(
    logged_in_page, live_server_proc, demo
):
    agent = "a" * 64  # the longest name a tap accepts
    # Ids stored before names were checked can be longer still (all valid characters).
    session_id = "b" * 140 + "-20261127-010101"
    live_server_proc.shell(
        "from sessions.models import ProcessSession as P; from extraction.models import ExtractionEvent as E;"
        f"s = P.objects.create(session_id={session_id!r}, agent_name={agent!r}, command_line='echo long');"
        f"E.objects.create(session=s, seq=1, agent_name={agent!r}, event_type='error', rule='r',"
        " severity='error', risk_level='high', line_start=1, line_end=1, content='Error: long')"
    )
    page = logged_in_page
    for url in ("/sessions/", "/events/"):
        page.goto(f"{live_server_proc.base_url}{url}")
        page.locator(f"[data-field='agent'][title='{agent}']").first.wait_for()
        # The last column (the table may scroll inside its panel) ends on the screen.
        overflow = page.evaluate(
            "document.querySelector('table.list th:last-child').getBoundingClientRect().right"
            " - window.innerWidth"
        )
        assert overflow <= 0, (url, overflow)
    assert page.errors == []
