"""Dashboard pages about sessions: overview, sessions list, one session, its recording."""

from __future__ import annotations

from pathlib import Path

from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from extraction.models import EventType
from streamtap_site.csp import content_security_policy

from . import dashboard_queries as dq
from .live import session_info
from .models import ProcessSession, SessionStatus


@content_security_policy
def overview(request):
    context = {
        "per_minute": dq.events_per_minute(),
        "sessions_over_time": dq.sessions_over_time(),
        "top_rules": dq.top_rules(),
        "high_risk_pending": dq.high_risk_pending_count(),
        "live_sessions": dq.live_sessions(),
        # First on the page: a program blocked on a question is what needs a person now.
        "waiting": [
            (session, session.pending_prompt())
            for session in ProcessSession.objects.filter(
                status=SessionStatus.WAITING_FOR_INPUT
            ).order_by("-started_at")[:10]
        ],
    }
    return render(request, "sessions/overview.html", context)


@content_security_policy
def sessions_list(request):
    f = dq.SessionFilter.from_query(request.GET)
    page = Paginator(dq.sessions_list(f), dq.SESSIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": f,
        "agents": dq.agent_names(),
        "statuses": SessionStatus.values,
        "event_types": EventType.values,
        "live_filters": f.as_dict(),
        "query_without_page": _query_without(request, "page"),
    }
    return render(request, "sessions/sessions.html", context)


@content_security_policy
def session_detail(request, session_id: str):
    session = get_object_or_404(ProcessSession, session_id=session_id)
    context = {
        "session": session,
        "info": session_info(session),
        "state_changes": session.state_changes.all()[:500],
        "event_types": EventType.values,
    }
    return render(request, "sessions/session_detail.html", context)


def session_recording(request, session_id: str):
    """The session's asciicast v2 recording, streamed as it is on disk (it may still grow)."""
    session = get_object_or_404(ProcessSession, session_id=session_id)
    path = Path(session.recording_path) if session.recording_path else None
    if path is None or not path.is_file():
        raise Http404("no recording for this session")
    response = FileResponse(path.open("rb"), content_type="application/x-asciicast")
    response["Content-Disposition"] = f'inline; filename="{session.session_id}.cast"'
    # A live session's recording grows: always read it afresh.
    response["Cache-Control"] = "no-store"
    return response


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()
