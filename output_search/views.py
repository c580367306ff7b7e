"""The search page: lines of recorded output holding a text, across sessions or in one."""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import render

from streamtap_site.csp import content_security_policy

from .api import run_search, session_line_url
from .queries import highlighted
from .serializers import OutputSearchParameters


@content_security_policy
def search_page(request):
    raw = {"q": request.GET.get("q", ""), "session": request.GET.get("session", "").strip()}
    params = OutputSearchParameters(
        data={k: v for k, v in request.GET.items() if k in ("q", "session", "after") and v}
    )
    context = {"raw": raw, "results": [], "searched": False, "errors": []}
    if raw["q"] and params.is_valid():
        session, page = run_search(params.validated_data)
        context["searched"] = True
        if page is not None:
            q = params.validated_data["q"]
            context["results"] = [
                {
                    "session_id": row.session.session_id,
                    "line": row.line,
                    "offset": row.offset_seconds,
                    "at": row.session.started_at + timedelta(seconds=row.offset_seconds),
                    "pieces": highlighted(row.text, q),
                    "url": session_line_url(row.session.session_id, row.line),
                }
                for row in page.lines
            ]
            if page.next_after:
                query = request.GET.copy()
                query["after"] = page.next_after
                context["next_query"] = query.urlencode()
        context["first_page"] = "after" not in request.GET
        query = request.GET.copy()
        query.pop("after", None)
        context["query_without_after"] = query.urlencode()
    elif raw["q"]:
        context["errors"] = [
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in params.errors.items()
        ]
    status = 400 if context["errors"] else 200
    return render(request, "output_search/search.html", context, status=status)
