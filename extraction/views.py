"""Dashboard pages about what was extracted: the events history and the code blocks."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from extraction.models import EventType, ReviewStatus, RiskLevel, Severity
from sessions import dashboard_queries as dq
from streamtap_site.csp import content_security_policy


@content_security_policy
def events_list(request):
    f = dq.EventFilter.from_query(request.GET)
    page = dq.events_page(f, cursor=request.GET.get("before", ""))
    params = request.GET.copy()
    params.pop("before", None)
    context = {
        "page": page,
        "filters": f,
        "raw": {
            "session": f.session,
            # datetime-local inputs need "YYYY-MM-DDTHH:MM" in the server's time zone.
            "since": _local_input(f.since),
            "until": _local_input(f.until),
        },
        "live_filters": f.as_dict(),
        "agents": dq.agent_names(),
        "selects": [
            {"name": "type", "label": "Type", "options": EventType.values, "selected": f.type},
            {
                "name": "severity",
                "label": "Severity",
                "options": Severity.values,
                "selected": f.severity,
            },
            {"name": "risk", "label": "Risk", "options": RiskLevel.values, "selected": f.risk},
            {
                "name": "review",
                "label": "Review",
                "options": ReviewStatus.values,
                "selected": f.review,
            },
        ],
        "query_without_cursor": params.urlencode(),
    }
    return render(request, "extraction/events.html", context)


@content_security_policy
def code_blocks_list(request):
    language = request.GET.get("language", "").strip()[:40]
    q = request.GET.get("q", "").strip()[:200]
    page = Paginator(dq.code_blocks(language, q), dq.CODE_BLOCKS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "language": language,
        "q": q,
        "languages": dq.code_block_languages(),
        "query_without_page": params.urlencode(),
    }
    return render(request, "extraction/code_blocks.html", context)


def _local_input(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""
