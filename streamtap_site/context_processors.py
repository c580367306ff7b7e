"""Template context for every page."""

from __future__ import annotations

from sessions.models import ProcessSession, SessionStatus

# The header lists at most this many waiting sessions' ids (the badge's count is exact).
WAITING_IDS_SHOWN = 100


def waiting_prompts(request) -> dict:
    """The programs blocked on a question, for the header's "N waiting" badge and the title.

    Rendered with every page so the badge is right before the websocket connects (then
    static/js/waiting.js keeps it current). One indexed query on (status, started_at).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    waiting = ProcessSession.objects.filter(status=SessionStatus.WAITING_FOR_INPUT)
    ids = list(
        waiting.order_by("-started_at").values_list("session_id", flat=True)[:WAITING_IDS_SHOWN]
    )
    count = len(ids) if len(ids) < WAITING_IDS_SHOWN else waiting.count()
    return {"waiting_count": count, "waiting_ids": ids}
