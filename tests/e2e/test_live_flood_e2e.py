"""A flood of events into an open session page (issue 19 item 3): a real tap prints thousands of
errors as fast as it can, a real daphne carries them, headless Chromium shows them. The timeline
keeps a bounded number of rows in the DOM, and every event stays reachable from it."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import open_logged_in
from tests.e2e.helpers import last_session_pk, tap_python, wait_for_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVENTS = 3000
WINDOW = 200  # static/js/timeline.js WINDOW_ROWS

# Installed before the page's scripts: the most rows the timeline held at any animation frame.
ROW_WATCH = """
window.__rows = { max: 0 };
const watch = () => {
  const list = document.getElementById("timeline");
  if (list) window.__rows.max = Math.max(window.__rows.max, list.childElementCount);
  requestAnimationFrame(watch);
};
requestAnimationFrame(watch);

// What the socket carried, so a flood that falls short can say where the events went.
window.__wire = { live: new Set(), replayed: new Set(), frames: [], closes: [] };
const RealWebSocket = window.WebSocket;
window.WebSocket = class extends RealWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      const seqs = (frame.events || []).map((e) => Number(e.seq));
      for (const seq of seqs) (frame.replay ? window.__wire.replayed : window.__wire.live).add(seq);
      window.__wire.frames.push([performance.now() | 0, frame.type, frame.replay ? "replay" : "",
        seqs.length ? Math.min(...seqs) : null, seqs.length ? Math.max(...seqs) : null,
        frame.session_info?.last_seq ?? null, frame.message ?? null]);
    });
    this.addEventListener("close", (close) => window.__wire.closes.push(close.code));
  }
};
const realSend = RealWebSocket.prototype.send;
RealWebSocket.prototype.send = function (data) {
  window.__wire.frames.push([performance.now() | 0, "sent", String(data).slice(0, 200)]);
  return realSend.call(this, data);
};
"""

WIRE_REPORT = """() => {
  const w = window.__wire;
  const missing = [];
  for (let seq = 1; seq <= %d; seq += 1) if (!w.live.has(seq) && !w.replayed.has(seq)) missing.push(seq);
  return {
    count: document.getElementById("timeline-count").textContent,
    live: w.live.size, replayed: w.replayed.size, missing: missing.slice(0, 50),
    missing_total: missing.length, closes: w.closes, last_frames: w.frames.slice(-40),
  };
}"""


def shown_seqs(page) -> list[int]:
    return page.eval_on_selector_all(
        "#timeline li[data-seq]", "items => items.map(i => Number(i.dataset.seq))"
    )


def test_a_flood_keeps_the_timeline_bounded_and_every_event_reachable(
    browser, live_server_proc, tmp_path
):
    server = live_server_proc
    page = open_logged_in(browser, server)
    page.context.add_init_script(ROW_WATCH)
    flag = tmp_path / "go"
    child = (
        "import os, sys, time\n"
        "print('ERROR: flood 0 warm-up', flush=True)\n"
        f"while not os.path.exists({str(flag)!r}): time.sleep(0.02)\n"
        f"for n in range(1, {EVENTS}):\n"
        "    sys.stdout.write(f'ERROR: flood {n} <b>not bold</b>\\n')\n"
        "    if n % 50 == 0: sys.stdout.flush()\n"
        "sys.stdout.flush()\n"
        "time.sleep(60)\n"
    )
    since = last_session_pk(server)
    # The program's output goes nowhere: a pipe nobody reads would stop the tap at 64 KiB.
    tap = tap_python(
        server.env,
        child,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        session_id = wait_for_session(server, since_id=since)
        page.goto(f"{server.base_url}/sessions/{session_id}/")
        # The warm-up event came through the socket (backlog or live): the page is subscribed.
        page.wait_for_selector("#timeline li:has-text('flood 0 warm-up')", timeout=45_000)
        flag.touch()
        try:
            page.wait_for_function(
                f"() => Number(document.getElementById('timeline-count').textContent) >= {EVENTS}",
                timeout=90_000,
            )
        except PlaywrightTimeout:
            stored = server.shell(
                "from extraction.models import ExtractionEvent as E\n"
                f"print(E.objects.filter(session__session_id={session_id!r}).count())"
            ).strip()
            wire = page.evaluate(WIRE_REPORT % EVENTS)
            pytest.fail(
                f"the timeline fell short; stored events: {stored}; page: {wire}; "
                f"errors: {page.errors}"
            )
        # Following the newest: the last event is drawn, and the DOM never held more than the window.
        page.wait_for_selector(f"#timeline li[data-seq='{EVENTS}']", timeout=10_000)
        assert page.evaluate("() => window.__rows.max") <= WINDOW
        newest = shown_seqs(page)
        assert len(newest) <= WINDOW and newest[-1] == EVENTS
        assert newest == list(range(newest[0], EVENTS + 1))
        # Hostile output stays text.
        assert "<b>not bold</b>" in page.inner_text(f"#timeline li[data-seq='{EVENTS}']")
        assert page.locator("#timeline b").count() == 0

        # Every event is reachable: "Earlier events" walks the window back to the first one.
        seen = set(newest)
        earlier = page.locator("[data-action=timeline-earlier]")
        while earlier.is_visible():
            earlier.click()
            rows = shown_seqs(page)
            assert len(rows) <= WINDOW and rows == list(range(rows[0], rows[-1] + 1))
            seen.update(rows)
        assert seen == set(range(1, EVENTS + 1))

        # New events wait behind "newer" while the reader is up there; back at the end, it follows.
        newer = page.locator("[data-action=timeline-newer]")
        while newer.is_visible():
            newer.click()
            seen.update(shown_seqs(page))
        assert shown_seqs(page)[-1] == EVENTS
        assert page.evaluate("() => window.__rows.max") <= WINDOW
        assert not page.errors
    finally:
        tap.kill()
        tap.wait()
        page.context.close()
