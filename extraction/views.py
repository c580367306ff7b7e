"""Dashboard pages about what was extracted: the events history and the code blocks."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from extraction import problems, queries
from extraction.export import export_response
from extraction.filters import EventExportQuery, EventQuery, page_filters
from extraction.models import (
    FILTER_COLUMNS,
    ErrorGroup,
    EventType,
    ExtractionEvent,
    GroupStatus,
    ReviewStatus,
    RiskLevel,
    Severity,
)
from extraction.serializers import GroupQuerySerializer
from streamtap_site.csp import content_security_policy

# The Events page's time presets: (label, `range`).
PRESETS = [("15 min", "15m"), ("1 hour", "1h"), ("24 hours", "24h"), ("7 days", "7d")]
# The page's own parameter besides the filters: the keyset cursor of an older page.
CURSOR = "before"
# Shown in the form: the parameter, its label and its choices (the page's names).
SELECTS = [
    ("type", "Type", EventType.values, "type"),
    ("severity", "Severity", Severity.values, "severity"),
    ("risk", "Risk", RiskLevel.values, "risk"),
    ("review", "Review", ReviewStatus.values, "review_status"),
]


@content_security_policy
def events_list(request):
    """The filtered events, newest first, with their count, presets and export links.

    The filters are extraction/filters.py's, read as the API reads them; a bad one is a 400
    page that says which and why.
    """
    query = EventQuery.from_query(request.GET, passthrough=(CURSOR,))
    valid = query.is_valid()
    params = query.validated_data if valid else {}
    if valid:
        page = queries.events_page(
            params, cursor=request.GET.get(CURSOR, ""), size=params.get("limit", 50)
        )
        count, capped = queries.events_count(params)
    else:
        page, count, capped = queries.EventPage([], None, True), 0, False
    context = {
        "page": page,
        "count": f"{count:,}",
        "count_capped": capped,
        "errors": _errors(query) if not valid else [],
        "filters": params,
        "active": any(k in params for k in (*FILTER_COLUMNS, "since", "until", "q")),
        "raw": {
            name: request.GET.get(name, "") for name in ("agent", "session", "rule", "group", "q")
        },
        "range": params.get("range", ""),
        "moments": {
            name: {
                "iso": params[name].isoformat() if params.get(name) else "",
                "input": _utc_input(params.get(name)),
            }
            for name in ("since", "until")
        },
        "live_filters": page_filters(params),
        "agents": queries.agent_names(),
        "selects": [
            {"name": name, "label": label, "options": options, "selected": params.get(key, "")}
            for name, label, options, key in SELECTS
        ],
        "presets": [
            {"label": label, "range": value, "query": _with(request.GET, range=value)}
            for label, value in PRESETS
        ],
        "exports": _export_query(request.GET, params) if valid else "",
        "query_without_cursor": _with(request.GET),
        "row_query": _with(request.GET, rule=None, group=None),
    }
    return render(request, "extraction/events.html", context, status=200 if valid else 400)


def events_export(request):
    """The Events page's list as a CSV or NDJSON file (the same filters, `format=csv|ndjson`)."""
    query = EventExportQuery.from_query(request.GET)
    if not query.is_valid():
        return JsonResponse({"errors": query.errors}, status=400)
    params = query.validated_data
    return export_response(
        request, ExtractionEvent.objects.filtered(params), params.get("format") or "csv"
    )


def _errors(query) -> list[str]:
    return [f"{name}: {' '.join(map(str, messages))}" for name, messages in query.errors.items()]


def _with(query, **changes) -> str:
    """The page's query without its cursor, with `changes` (None: left out).

    A preset replaces any since/until: it is a window that ends now.
    """
    params = query.copy()
    params.pop(CURSOR, None)
    if changes.get("range"):
        for name in ("since", "until"):
            params.pop(name, None)
    for name, value in changes.items():
        params.pop(name, None)
        if value:
            params[name] = value
    return params.urlencode()


def _export_query(query, params: dict) -> str:
    """The filters for the export links, with a preset's window fixed at its start now: the
    file then holds what the page counted (and what came since)."""
    export = query.copy()
    export.pop(CURSOR, None)
    export.pop("limit", None)
    if params.get("range"):
        export.pop("range")
        export["since"] = params["since"].isoformat()
    return export.urlencode()


@content_security_policy
def code_blocks_list(request):
    language = request.GET.get("language", "").strip()[:40]
    q = request.GET.get("q", "").strip()[:200]
    page = Paginator(queries.code_blocks(language, q), queries.CODE_BLOCKS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "language": language,
        "q": q,
        "languages": queries.code_block_languages(),
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
            # The pickers show these in the browser's zone (static/js/moment_pickers.js).
            "since_iso": params["since"].isoformat() if params.get("since") else "",
            "until_iso": params["until"].isoformat() if params.get("until") else "",
        },
        "agents": queries.agent_names(),
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


def _utc_input(moment) -> str:
    # What a datetime-local picker shows before the page's script puts it in the browser's
    # zone (the script sends it back with the browser's offset).
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M") if moment else ""
