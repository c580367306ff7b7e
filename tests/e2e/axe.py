"""axe-core (vendored in static/vendor/axe-core) run inside a page the browser has open."""

from __future__ import annotations

AXE_PATH = "/static/vendor/axe-core/axe.min.js"
# WCAG 2.x A and AA: colour contrast is in wcag2aa.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(
    page, base_url: str, *, impacts=("serious", "critical"), rules: list[str] | None = None
) -> list[str]:
    """The page's accessibility violations of these impacts, one line per failing element.

    Every WCAG A/AA rule, or only ``rules``. The script is loaded from the site itself: the
    pages' CSP allows only their own origin.
    """
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(url=f"{base_url}{AXE_PATH}")
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": TAGS}
    results = page.evaluate(
        "async (runOnly) => (await axe.run(document, { runOnly, resultTypes: ['violations'] }))"
        ".violations",
        run_only,
    )
    return [
        f"{v['id']} ({v['impact']}): {' '.join(node['target'])}: "
        + " ".join(node.get("failureSummary", "").split())[:260]
        for v in results
        if v["impact"] in impacts
        for node in v["nodes"]
    ]
