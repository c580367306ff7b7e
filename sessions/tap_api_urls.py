from django.urls import path

from .approval_api import PendingPromptView, PromptDecisionView
from .ingest_api import IngestBatchView

# The tap's own API: remote ingest, and answering the prompts it waits at.
urlpatterns = [
    path("ingest/batch", IngestBatchView.as_view(), name="st-api-ingest-batch"),
    path(
        "sessions/<str:session_id>/prompts/pending",
        PendingPromptView.as_view(),
        name="st-api-prompt-pending",
    ),
    path(
        "sessions/<str:session_id>/prompts/<int:seq>/decision",
        PromptDecisionView.as_view(),
        name="st-api-prompt-decision",
    ),
]
