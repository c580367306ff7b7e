"""Replay and recording API routes (mounted under /api/). URL names carry the `st-api-` prefix."""

from django.urls import path

from . import replay_views

urlpatterns = [
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
]
