"""The sessions app's routes: its pages (`urlpatterns`, at the site root) and its API
(`api_urlpatterns`, under /api/; names carry the `st-api-` prefix).

API path parameters use the `anytext` converter (streamtap_site/api_common.py) and the views
answer 404 themselves: an id the client got wrong gets the API's JSON 404, not an HTML page.
"""

from django.urls import path

import streamtap_site.api_common  # noqa: F401 (registers the `anytext` converter)

from . import api, replay_views, views
from .approval_api import PendingPromptView, PromptDecisionView
from .ingest_api import IngestBatchView

urlpatterns = [
    path("", views.overview, name="st-overview"),
    path("sessions/", views.sessions_list, name="st-sessions"),
    path("sessions/<str:session_id>/replay/", replay_views.replay_page, name="st-session-replay"),
    path("sessions/<str:session_id>/", views.session_detail, name="st-session-detail"),
    path(
        "sessions/<str:session_id>/recording.cast",
        views.session_recording,
        name="st-session-recording",
    ),
]

api_urlpatterns = [
    # Replay and the recording.
    path(
        "sessions/<str:session_id>/recording.cast",
        replay_views.RecordingExportView.as_view(),
        name="st-api-session-recording",
    ),
    path(
        "replay/session/<str:session_id>",
        replay_views.ReplayStreamView.as_view(),
        name="st-api-replay",
    ),
    path(
        "replay/session/<str:session_id>/index",
        replay_views.ReplayIndexView.as_view(),
        name="st-api-replay-index",
    ),
    path(
        "replay/session/<str:session_id>/range",
        replay_views.ReplayRangeView.as_view(),
        name="st-api-replay-range",
    ),
    # The tap's own API: remote ingest, and answering the prompts it waits at.
    path("ingest/batch", IngestBatchView.as_view(), name="st-api-ingest-batch"),
    path(
        "sessions/<anytext:session_id>/prompts/pending",
        PendingPromptView.as_view(),
        name="st-api-prompt-pending",
    ),
    path(
        "sessions/<anytext:session_id>/prompts/<anytext:seq>/decision",
        PromptDecisionView.as_view(),
        name="st-api-prompt-decision",
    ),
    # Sessions. Their events before the session itself: `anytext` would take "x/events" as an id.
    path("query/sessions", api.SessionListView.as_view(), name="st-api-query-sessions"),
    path(
        "sessions/<anytext:session_id>/events/",
        api.SessionEventsView.as_view(),
        name="st-api-session-events",
    ),
    path(
        "sessions/<anytext:session_id>/",
        api.SessionDetailView.as_view(),
        name="st-api-session-detail",
    ),
]
