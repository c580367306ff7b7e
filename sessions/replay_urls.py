"""Replay page routes (mounted at the site root, before sessions.urls)."""

from django.urls import path

from . import replay_views

urlpatterns = [
    path(
        "sessions/<str:session_id>/replay/",
        replay_views.replay_page,
        name="st-session-replay",
    ),
]
