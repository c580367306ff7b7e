"""Replay steps through events one by one (also those at one time), in tenths, with the keys of
asciinema-player, and opens at ?t=SECONDS."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.recorded import numbered_lines, recorded_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DURATION = 60.0
# Three errors printed at one moment (a traceback's lines, flushed together).
EVENTS = [
    (20.0, "error", "first at 20"),
    (20.0, "error", "second at 20"),
    (20.0, "error", "third at 20"),
    (30.0, "prompt", "Proceed? [y/N]"),
    (40.0, "error", "alone at 40"),
]


@pytest.fixture(scope="module")
def stepped_session(live_server_proc) -> str:
    output = numbered_lines(DURATION)
    return recorded_session(live_server_proc, "stepper-e2e-1", output, EVENTS, duration=DURATION)


def position(page) -> float:
    return float(page.get_attribute("#replay", "data-position"))


def wait_position(page, seconds: float) -> None:
    page.wait_for_function(
        "(t) => Math.abs(Number(document.querySelector('#replay').dataset.position) - t) < 0.01",
        arg=seconds,
    )


def terminal_text(page) -> str:
    return page.locator("#replay-terminal .xterm-rows").inner_text()


CURRENT = "#replay-events li.current .what"  # the event highlighted as current in the list


def wait_current(page, text: str) -> None:
    """Wait until the (first) current event is the one with this text."""
    expect(page.locator(CURRENT).first).to_have_text(text, timeout=30_000)


def current_event(page) -> str:
    return page.locator(CURRENT).inner_text()


def open_paused(page, server, session_id: str, t: float = 0.5) -> None:
    page.goto(f"{server.base_url}/sessions/{session_id}/replay/?t={t}")
    page.wait_for_function("() => document.querySelector('#replay').dataset.state === 'paused'")
    wait_position(page, t)


def test_next_error_visits_each_error_sharing_a_timestamp(
    logged_in_page, live_server_proc, stepped_session
):
    page = logged_in_page
    open_paused(page, live_server_proc, stepped_session)
    next_error = page.locator("button[data-jump='error'][data-direction='1']")
    previous_error = page.locator("button[data-jump='error'][data-direction='-1']")
    seen = []
    for expected in ["first at 20", "second at 20", "third at 20", "alone at 40"]:
        next_error.click()
        wait_current(page, expected)
        seen.append((current_event(page), round(position(page), 2)))
    assert seen == [
        ("first at 20", 20.0),
        ("second at 20", 20.0),
        ("third at 20", 20.0),
        ("alone at 40", 40.0),
    ]
    next_error.click()
    page.wait_for_selector("#replay-status:has-text('no next error')")
    # And back, one by one.
    previous_error.click()
    wait_current(page, "third at 20")
    previous_error.click()
    wait_current(page, "second at 20")
    assert page.errors == []


def test_the_clock_shows_tenths(logged_in_page, live_server_proc, stepped_session):
    page = logged_in_page
    open_paused(page, live_server_proc, stepped_session, t=12.34)
    assert page.inner_text("#replay-time") == "0:12.3 / 1:00.0"
    assert page.locator("#replay-events li .when").first.inner_text() == "0:20.0"


def test_asciinema_player_keys(logged_in_page, live_server_proc, stepped_session):
    page = logged_in_page
    open_paused(page, live_server_proc, stepped_session)
    page.locator("#replay-terminal").click()  # focus on the player, as a user would

    page.keyboard.press("5")  # 50 %: the screen as it was just before 0:30.0
    wait_position(page, 30.0)
    # xterm draws on the next animation frame, which a busy machine may delay past the position.
    page.wait_for_selector("#replay-terminal .xterm-rows:has-text('line 059')")
    assert "line 060" not in terminal_text(page)
    page.keyboard.press("ArrowRight")
    wait_position(page, 35.0)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    wait_position(page, 25.0)
    page.keyboard.press("0")
    wait_position(page, 0.0)
    page.keyboard.press("9")
    wait_position(page, 54.0)

    # [ and ]: the previous and next marker, whatever its type.
    page.keyboard.press("[")
    wait_current(page, "alone at 40")
    page.keyboard.press("[")
    wait_current(page, "Proceed? [y/N]")
    page.keyboard.press("]")
    wait_current(page, "alone at 40")

    # `.` steps one frame of output while paused: the line printed at 0:40.0, then the next.
    wait_position(page, 40.0)
    assert "line 080" not in terminal_text(page)
    page.keyboard.press(".")
    page.wait_for_selector("#replay-terminal .xterm-rows:has-text('line 080')")
    assert "line 081" not in terminal_text(page)
    page.keyboard.press(".")
    wait_position(page, 40.5)
    page.wait_for_selector("#replay-terminal .xterm-rows:has-text('line 081')")
    assert page.get_attribute("#replay", "data-state") == "paused"

    # Space plays and pauses.
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('#replay').dataset.state === 'playing'")
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('#replay').dataset.state === 'paused'")

    # f: the player fills the screen, f again leaves.
    page.keyboard.press("f")
    page.wait_for_function(
        "() => document.fullscreenElement?.classList.contains('replay-player') === true"
    )
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")
    assert page.errors == []


def test_t_opens_the_recording_paused_at_that_second(
    logged_in_page, live_server_proc, stepped_session
):
    page = logged_in_page
    open_paused(page, live_server_proc, stepped_session, t=42.5)
    text = terminal_text(page)
    assert "line 084" in text and "line 085" not in text
    assert "paused at 0:42.5" in page.inner_text("#replay-status")
    page.wait_for_timeout(300)
    assert position(page) == pytest.approx(42.5, abs=0.01)  # it stays paused
