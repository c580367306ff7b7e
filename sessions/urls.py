"""The sessions app's routes: pages, then API (streamtap_site/routes.py says how). A session's
own routes are below its page's (`PAGE`) and the API's (`API`)."""

from streamtap_site.routes import routes

from . import api, replay_views, views
from .approval_api import PendingPromptView, PromptDecisionView
from .ingest_api import IngestBatchView

PAGE = "sessions/<str:session_id>/"
API = "sessions/<anytext:session_id>/"

urlpatterns = routes(
    ("", views.overview, "st-overview"),
    ("sessions/", views.sessions_list, "st-sessions"),
    (PAGE + "replay/", replay_views.replay_page, "st-session-replay"),
    (PAGE, views.session_detail, "st-session-detail"),
    (PAGE + "recording.cast", views.session_recording, "st-session-recording"),
)

api_urlpatterns = routes(
    # Replay and the recording.
    (PAGE + "recording.cast", replay_views.RecordingExportView, "st-api-session-recording"),
    ("replay/session/<str:session_id>", replay_views.ReplayStreamView, "st-api-replay"),
    ("replay/session/<str:session_id>/index", replay_views.ReplayIndexView, "st-api-replay-index"),
    ("replay/session/<str:session_id>/range", replay_views.ReplayRangeView, "st-api-replay-range"),
    # The tap's own API: remote ingest, and answering the prompts it waits at.
    ("ingest/batch", IngestBatchView, "st-api-ingest-batch"),
    (API + "prompts/pending", PendingPromptView, "st-api-prompt-pending"),
    (API + "prompts/<anytext:seq>/decision", PromptDecisionView, "st-api-prompt-decision"),
    # Sessions. Their events before the session itself: `anytext` would take "x/events" as an id.
    ("query/sessions", api.SessionListView, "st-api-query-sessions"),
    (API + "events/", api.SessionEventsView, "st-api-session-events"),
    (API, api.SessionDetailView, "st-api-session-detail"),
)
