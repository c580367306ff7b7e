from django.urls import path

# Registers the `anytext` converter: an id the client got wrong gets the API's JSON 404.
import streamtap_site.api_urls  # noqa: F401

from .approval_api import PendingPromptView, PromptDecisionView
from .ingest_api import IngestBatchView

# The tap's own API: remote ingest, and answering the prompts it waits at.
urlpatterns = [
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
]
