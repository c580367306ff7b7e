"""Dashboard pages about what was extracted: the events history and the code blocks."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from extraction import problems
from extraction.models import ErrorGroup, EventType, GroupStatus, ReviewStatus, RiskLevel, Severity
from extraction.serializers import GroupQuerySerializer
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
    context = {
        "page": page,
        "language": language,
        "q": q,
        "languages": dq.code_block_languages(),
        "query_without_page": _query_without_page(request),
    }
    return render(request, "extraction/code_blocks.html", context)


@content_security_policy
def problems_list(request):
    """One row per error group, with a sparkline of its occurrences."""
    data = {k: v for k, v in request.GET.items() if v and k != "page"}
    query = GroupQuerySerializer(data=data)
    params = query.validated_data if query.is_valid() else {}
    errors = [f"{name}: {' '.join(map(str, msgs))}" for name, msgs in query.errors.items()]
    page = Paginator(problems.groups(params), 50).get_page(request.GET.get("page"))
    start, end = problems.spark_window(params)
    counts = problems.occurrence_counts([g.fingerprint for g in page], start, end)
    rows = [
        {
            "group": g,
            "agents": sorted({link.agent_name for link in g.sessions.all()}),
            "spark": problems.sparkline_points(counts[g.fingerprint]),
            "spark_total": sum(counts[g.fingerprint]),
        }
        for g in page
    ]
    context = {
        "page": page,
        "rows": rows,
        "errors": errors,
        "raw": {
            "agent": data.get("agent", ""),
            "session": data.get("session", ""),
            "status": data.get("status", ""),
            "order": params.get("order") or "last_seen",
            "since": _local_input(params.get("since")),
            "until": _local_input(params.get("until")),
        },
        "agents": dq.agent_names(),
        "statuses": GroupStatus.values,
        "window": (start, end),
        "spark": {"width": problems.SPARK_WIDTH, "height": problems.SPARK_HEIGHT},
        "query_without_page": _query_without_page(request),
    }
    return render(request, "extraction/problems.html", context)


@content_security_policy
def group_detail(request, pk: int):
    group = get_object_or_404(ErrorGroup, pk=pk)
    occurrences = Paginator(
        group.events.select_related("session").order_by("-timestamp", "-id"), 50
    ).get_page(request.GET.get("page"))
    context = {
        "group": group,
        "occurrences": occurrences,
        "sessions": group.sessions.select_related("session").order_by("-session__started_at"),
        "representative": group.representative_event,
    }
    return render(request, "extraction/group_detail.html", context)


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _local_input(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""
