from django.urls import path

from .approval_api import PendingPromptView, PromptDecisionView

urlpatterns = [
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
