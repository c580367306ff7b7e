"""Errors look like the rest of the site, and the lists stay usable in an 800 px window."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def looks_like_the_site(page) -> None:
    assert page.locator("header.topbar .brand").is_visible()
    assert page.locator("#error-page").is_visible()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgba(0, 0, 0, 0)"  # the site's stylesheet is applied


def test_a_bad_session_url_shows_the_styled_404(logged_in_page, live_server_proc):
    page = logged_in_page
    response = page.goto(f"{live_server_proc.base_url}/sessions/no-such-session-42/")
    assert response.status == 404
    looks_like_the_site(page)
    assert page.locator("#error-page h1").inner_text() == "Not found"
    assert "/sessions/no-such-session-42/" in page.locator("#error-page").inner_text()
    # A way on: the nav and the links of the page itself.
    page.locator("#error-page a", has_text="Sessions").click()
    page.wait_for_url(f"{live_server_proc.base_url}/sessions/")


def test_a_bad_replay_url_shows_the_styled_404(logged_in_page, live_server_proc):
    page = logged_in_page
    response = page.goto(f"{live_server_proc.base_url}/sessions/nope/replay/")
    assert response.status == 404
    looks_like_the_site(page)


def test_an_expired_form_shows_the_styled_403(anonymous_page, live_server_proc):
    page = anonymous_page
    page.goto(f"{live_server_proc.base_url}/login/")
    page.context.clear_cookies()  # the CSRF cookie is gone: the form's token no longer matches
    page.fill("input[name=username]", live_server_proc.username)
    page.fill("input[name=password]", live_server_proc.password)
    with page.expect_response(
        lambda r: r.url.endswith("/login/") and r.request.method == "POST"
    ) as r:
        page.click("button[type=submit]")
    assert r.value.status == 403
    looks_like_the_site(page)
    assert page.locator("#error-page h1").inner_text() == "The form expired"


@pytest.mark.parametrize(
    "path, column",
    [
        ("/events/", "#events-table th:last-child"),
        ("/sessions/", "#sessions-table th:last-child"),
    ],
)
def test_the_lists_keep_their_last_column_in_view_at_800_px(
    browser, live_server_proc, demo, path, column, tmp_path
):
    page = open_logged_in(browser, live_server_proc, viewport={"width": 800, "height": 700})
    page.goto(live_server_proc.base_url + path)
    header = page.locator(column)
    header.wait_for()
    box = header.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 800, box
    # No sideways scrolling needed, in the table or the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    # And the content is readable: the events' content cells are not squeezed to nothing.
    if path == "/events/":
        cell = page.locator("#events-body tr[data-seq] td:last-child").first.bounding_box()
        assert cell["width"] >= 200, cell
    page.screenshot(path=str(tmp_path / "at-800.png"))  # to look at when it fails
    page.context.close()
