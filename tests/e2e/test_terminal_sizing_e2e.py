"""The terminal keeps a pty's recorded columns scaled to its box, never wraps pipe output at 80
columns, and says why when there is nothing to show."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in
from tests.e2e.recorded import recorded_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LONG_LINE = "pipe:" + "".join(f"{i:04d}-" for i in range(30)) + "END"  # 155 characters


@pytest.fixture(scope="module")
def sized_sessions(live_server_proc) -> dict:
    wide_pty = [(0.1, "".join(f"{c % 10}" for c in range(120)) + "\r\n")]
    wide_pty += [(0.2 + i / 10, f"pty row {i}\r\n") for i in range(10)]
    pipe = [(0.1, "short line\n"), (0.2, LONG_LINE + "\n"), (0.3, "after\n")]
    return {
        "pty": recorded_session(live_server_proc, "sized-pty-1", wide_pty, cols=120, rows=30),
        "pipe": recorded_session(live_server_proc, "sized-pipe-1", pipe, mode="pipe"),
        "missing": recorded_session(
            live_server_proc, "sized-missing-1", [], [(1.0, "error", "E boom")], recording=False
        ),
    }


def terminal_box(page) -> dict:
    page.wait_for_selector(".terminal-panel[data-cols]")
    return page.evaluate(
        """() => {
          const panel = document.querySelector('.terminal-panel');
          const screen = document.querySelector('#terminal .xterm-screen');
          const style = getComputedStyle(panel);
          return {
            cols: Number(panel.dataset.cols),
            font: Number(panel.dataset.fontSize),
            screen: screen.getBoundingClientRect().width,
            inner: panel.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
          };
        }"""
    )


@pytest.mark.parametrize("width", [1366, 1920])
def test_a_pty_session_keeps_its_columns_and_fills_the_box(
    browser, live_server_proc, sized_sessions, width
):
    page = open_logged_in(browser, live_server_proc, viewport={"width": width, "height": 900})
    page.goto(f"{live_server_proc.base_url}/sessions/{sized_sessions['pty']}/")
    page.wait_for_selector("#terminal .xterm-rows:has-text('pty row 9')")
    box = terminal_box(page)
    assert box["cols"] == 120
    # Scaled to the box: at least 85 % of its width used, and nothing wider than it.
    assert 0.85 * box["inner"] <= box["screen"] <= box["inner"] + 1, box
    # The 120-character line is one row.
    rows = page.locator("#terminal .xterm-rows > div").all_inner_texts()
    assert any(
        r.replace("\xa0", " ").rstrip().endswith("0123456789") and len(r.rstrip()) == 120
        for r in rows
    )
    assert page.errors == []
    page.context.close()


def test_pipe_output_is_not_wrapped_at_80_columns(logged_in_page, live_server_proc, sized_sessions):
    page = logged_in_page
    page.goto(f"{live_server_proc.base_url}/sessions/{sized_sessions['pipe']}/")
    page.wait_for_selector("#terminal .xterm-rows:has-text('after')")
    box = terminal_box(page)
    assert box["cols"] >= len(LONG_LINE)
    rows = [
        r.replace("\xa0", " ").rstrip()
        for r in page.locator("#terminal .xterm-rows > div").all_inner_texts()
    ]
    assert LONG_LINE in rows
    assert page.errors == []


def test_a_session_without_a_recording_says_why(logged_in_page, live_server_proc, sized_sessions):
    page = logged_in_page
    page.goto(f"{live_server_proc.base_url}/sessions/{sized_sessions['missing']}/")
    empty = page.locator("#terminal-empty")
    empty.wait_for()
    assert "No recording" in empty.inner_text()
    assert "is no longer at" in empty.inner_text()
    assert "sized-missing-1.cast" in empty.inner_text()
    assert page.locator("#terminal").is_hidden()
    # The events are still there beside it.
    page.locator("#timeline li[data-seq='1']").wait_for()
    assert page.locator("#session-download").count() == 0
    assert page.errors == []
