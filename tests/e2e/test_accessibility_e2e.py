"""Every page passes axe-core's WCAG 2.1 A/AA checks (colour contrast first) in light and dark."""

from __future__ import annotations

import hashlib

import pytest

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import logged_in
from tests.e2e.demo_data import CODE
from tests.e2e.helpers import PAGE_MARKS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Path -> a selector that shows the page has drawn what it draws with JS.
PAGES = {
    **PAGE_MARKS,
    "/sessions/{main}/": "#timeline li",
    "/sessions/{main}/replay/": "#replay-events li",
    "/code-blocks/{block}/": "#code-block code.hljs",
    "/problems/": "main h1",
    "/search/?q=error": "#output-results, #output-results-empty",
    "/admin/extraction/highriskevent/": "#result_list, .paginator",
    "/sessions/no-such-session/": "#error-page",
}
# The rules to check: all of WCAG A/AA (None), or only colour contrast on Django's own admin,
# whose markup is not ours.
RULES = {"/admin/extraction/highriskevent/": ["color-contrast"]}


@pytest.fixture(params=["light", "dark"])
def scheme_page(request, browser, live_server_proc):
    with logged_in(browser, live_server_proc, color_scheme=request.param) as page:
        yield page


def test_every_page_passes_axe_in_light_and_dark(scheme_page, live_server_proc, demo):
    page = scheme_page
    failures = {}
    block = hashlib.sha256(CODE["python"].encode()).hexdigest()  # a demo code block's page
    for path, ready in PAGES.items():
        page.goto(live_server_proc.base_url + path.format(main=demo["main_session"], block=block))
        page.wait_for_selector(ready)
        # Let live updates, charts and the replay's first frames settle.
        page.wait_for_timeout(600)
        found = axe_violations(page, live_server_proc.base_url, rules=RULES.get(path))
        failures.update({f"{path}: {line}": 1 for line in found})
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_login_page_passes_axe(browser, live_server_proc, scheme):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{live_server_proc.base_url}/login/")
    page.fill("input[name=username]", "nobody")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector(".errorlist")
    found = axe_violations(page, live_server_proc.base_url)
    assert not found, "\n".join(found)
    context.close()
