"""A code block's own page: its permalink, its risk mark and every event it occurred as."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from extraction.models import CodeBlock
from streamtap_site.csp import content_security_policy

OCCURRENCES_PAGE_SIZE = 50


@content_security_policy
def code_block_detail(request, sha256: str):
    block = get_object_or_404(CodeBlock, sha256=sha256)
    # Newest first, each with its session: every row links to the session opened at the event.
    events = block.events.select_related("session").order_by("-timestamp", "-id")
    occurrences = Paginator(events, OCCURRENCES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "extraction/code_block_detail.html",
        {"code_block": block, "occurrences": occurrences},
    )
