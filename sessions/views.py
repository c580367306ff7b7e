"""Dashboard pages about sessions: overview, sessions list, one session, its recording."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from extraction.groups import ErrorGroup
from extraction.models import EventType, ExtractionEvent
from streamtap_site.csp import content_security_policy

from . import dashboard_queries as dq
from .live import session_info
from .models import LIVE_STATUSES, ProcessSession, SessionStatus

LIVE_SESSIONS_SHOWN = 20
# Sessions whose stored event_counts are not written yet (a lost one: not by its tap).
UNFINISHED_STATUSES = (*LIVE_STATUSES, SessionStatus.LOST)
PROBLEMS_SHOWN = 5


@content_security_policy
def overview(request):
    now = timezone.now()
    # "Live" is a tap that still beats: a session killed with -9 is not counted (it is lost).
    alive = ProcessSession.objects.alive(now)
    live_sessions = list(
        alive.order_by("-started_at", "-id").annotate(
            # A running session's own counts are written when it ends: count its stored events,
            # and the page adds live ones above stored_upto.
            stored_events=Count("events"),
            stored_upto=Max("events__seq"),
        )[:LIVE_SESSIONS_SHOWN]
    )
    context = {
        "per_minute": dq.events_per_minute(),
        "sessions_over_time": dq.sessions_over_time(),
        "top_rules": dq.top_rules(),
        "high_risk_pending": dq.high_risk_pending_count(),
        "live_sessions": live_sessions,
        "live_count": len(live_sessions)
        if len(live_sessions) < LIVE_SESSIONS_SHOWN
        else alive.count(),
        # "What went wrong in the last hour", one click from the overview.
        "problems": list(ErrorGroup.objects.order_by("-last_seen", "-id")[:PROBLEMS_SHOWN]),
        "problems_last_hour": ErrorGroup.objects.filter(
            last_seen__gte=now - timedelta(hours=1)
        ).count(),
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
    _count_unfinished(page.object_list)
    if request.user.is_staff:
        # Approve / Deny in the row of a session that waits (a few per page at most).
        for session in page:
            session.pending = (
                session.pending_prompt()
                if session.status == SessionStatus.WAITING_FOR_INPUT
                else None
            )
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
    _count_unfinished([session])  # the header's counts; live ones are added by the page
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


def _count_unfinished(sessions) -> None:
    """A session's event_counts are written when it ends: until then count its stored events
    (one query for the page), which the page's live events then add to."""
    unfinished = {
        s.pk: s for s in sessions if s.ended_at is None and s.status in UNFINISHED_STATUSES
    }
    if not unfinished:
        return
    for session in unfinished.values():
        session.event_counts = {}
    rows = (
        ExtractionEvent.objects.filter(session_id__in=unfinished)
        .values_list("session_id", "event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    for pk, kind, n in rows:
        unfinished[pk].event_counts[kind] = n


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()
