"""Chart axes are readable at every width: no label is cut at the canvas's edge."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in
from tests.e2e.recorded import recorded_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A label cut at the canvas's edge leaves ink in its first or last few columns (the ",000" of
# "12,000" was all that showed on the y axis). Labels that fit end a few pixels inside. On the
# right only the x axis's labels are looked at: the plot itself reaches that edge.
EDGE_PX = 3
X_AXIS_PX = 40
INK_AT_EDGES = """([edge, xAxis]) => [...document.querySelectorAll('.uplot canvas')].map((c) => {
  const ctx = c.getContext('2d');
  const axis = Math.round(xAxis * devicePixelRatio);
  const inked = (x, y, h) => ctx.getImageData(x, y, edge, h).data
    .some((v, i) => i % 4 === 3 && v > 0);
  return {
    left: inked(0, 0, c.height),
    right: inked(c.width - edge, c.height - axis, axis),
    width: c.width,
  };
})"""


@pytest.fixture(scope="module")
def big_metrics(live_server_proc) -> str:
    # Token counts in the millions next to a loss below 1: long and short labels.
    events = []
    for i in range(40):
        events.append((i * 3.0, "metric", f"tokens={1_000_000 + i * 250_000}"))
    session_id = recorded_session(
        live_server_proc, "charts-e2e-1", [(0.1, "start\r\n")], events, duration=130.0
    )
    live_server_proc.shell(
        f"""
from extraction.models import ExtractionEvent
for e in ExtractionEvent.objects.filter(session__session_id={session_id!r}):
    e.metadata = {{"name": "tokens", "value": int(e.content.split("=")[1])}}
    e.save(update_fields=["metadata"])
"""
    )
    return session_id


@pytest.mark.parametrize("width", [800, 1366, 1920])
def test_no_axis_label_is_cut_off(browser, live_server_proc, demo, big_metrics, width):
    page = open_logged_in(browser, live_server_proc, viewport={"width": width, "height": 900})
    for path in ["/", f"/sessions/{big_metrics}/", f"/sessions/{demo['main_session']}/"]:
        page.goto(live_server_proc.base_url + path)
        page.wait_for_selector(".uplot canvas")
        page.wait_for_timeout(300)  # the charts are drawn on the next animation frame
        edges = page.evaluate(INK_AT_EDGES, [EDGE_PX, X_AXIS_PX])
        assert edges, path
        clipped = [e for e in edges if e["left"] or e["right"]]
        assert clipped == [], (path, clipped)
    assert page.errors == []
    page.context.close()
