"""A code block is traced back to where it occurred, and a risky one is marked: a real tap prints
the same fenced `rm -rf` twice, and a user in Chromium follows "2 occurrences" to the events."""

from __future__ import annotations

import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FENCE = "```"
BLOCK = "rm -rf build-e2e-code-blocks/\nmake all\n"
PRINTS = f"print('{FENCE}bash'); print({BLOCK!r}, end=''); print('{FENCE}')"
CHILD = f"{PRINTS}; print('thinking…'); {PRINTS}"


@pytest.fixture(scope="module")
def tapped_block(live_server_proc) -> None:
    live_server_proc.manage(
        "tap", "--pipe", "--agent", "blocks-e2e", "--", sys.executable, "-c", CHILD
    )


def test_occurrences_lead_to_the_events_and_the_block_carries_its_risk(
    logged_in_page, live_server_proc, tapped_block
):
    page = logged_in_page
    page.goto(f"{live_server_proc.base_url}/code-blocks/?q=build-e2e-code-blocks")
    card = page.locator("article.code-card").filter(has_text="build-e2e-code-blocks")
    card.wait_for()

    risk = card.locator("[data-field=risk]")
    assert risk.inner_text() == "high risk: rm -rf"
    assert "risk-high" in risk.get_attribute("class")
    # Colour as well as text: the badge has the high-risk background, not the page's.
    background = risk.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")

    card.locator("[data-field=occurrences]").click()
    page.wait_for_url("**/code-blocks/*/#occurrences")
    rows = page.locator("#occurrences-table tbody tr")
    assert rows.count() == 2
    assert page.locator("#code-block [data-field=risk]").inner_text() == "high risk: rm -rf"
    seqs = sorted(int(rows.nth(i).get_attribute("data-seq")) for i in range(2))

    page.locator(f"#occurrences-table tr[data-seq='{seqs[-1]}'] [data-field=open]").click()
    page.wait_for_url(f"**/sessions/*/?event={seqs[-1]}")
    selected = page.locator("#timeline li.selected")
    selected.wait_for()
    assert selected.get_attribute("data-seq") == str(seqs[-1])
    assert "build-e2e-code-blocks" in selected.inner_text()
    assert page.errors == []


def test_a_blocks_permalink_is_copied_as_an_absolute_link(
    logged_in_page, live_server_proc, tapped_block
):
    page = logged_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server_proc.base_url}/code-blocks/?q=build-e2e-code-blocks")
    permalink = page.locator("article.code-card [data-field=permalink]").first
    href = permalink.get_attribute("href")
    permalink.click()
    page.wait_for_url(f"**{href}")

    page.click("#code-block button.copy-link")

    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server_proc.base_url}{href}"
    assert page.errors == []
