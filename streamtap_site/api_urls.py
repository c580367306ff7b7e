"""Routes under /api/. URL names carry the `st-api-` prefix; add new routes to the list below.

Path parameters use the `anytext` converter and the views answer 404 themselves: an id the client
got wrong (a slash, a negative number) then gets the API's JSON 404, not Django's HTML page.
"""

from django.contrib.auth.decorators import login_required
from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated

from extraction import api as extraction_api
from sessions import api as sessions_api


class AnyTextConverter:
    """Any non-empty text, newlines and slashes included; the view decides if it names something."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyTextConverter, "anytext")

urlpatterns = [
    path("", extraction_api.APIRootView.as_view(), name="st-api-root"),
    # Queries (the seed's paths).
    path(
        "query/extractions",
        extraction_api.ExtractionListView.as_view(),
        name="st-api-query-extractions",
    ),
    path(
        "query/extractions/export",
        extraction_api.ExtractionExportView.as_view(),
        name="st-api-export-extractions",
    ),
    path("query/sessions", sessions_api.SessionListView.as_view(), name="st-api-query-sessions"),
    path(
        "query/stats/agent/<anytext:name>",
        extraction_api.AgentStatsView.as_view(),
        name="st-api-agent-stats",
    ),
    # Resources.
    path(
        "sessions/<anytext:session_id>/events/",
        sessions_api.SessionEventsView.as_view(),
        name="st-api-session-events",
    ),
    path(
        "sessions/<anytext:session_id>/",
        sessions_api.SessionDetailView.as_view(),
        name="st-api-session-detail",
    ),
    path("code-blocks/", extraction_api.CodeBlockListView.as_view(), name="st-api-code-blocks"),
    path(
        "code-blocks/<anytext:sha256>/",
        extraction_api.CodeBlockDetailView.as_view(),
        name="st-api-code-block-detail",
    ),
    path("groups/", extraction_api.GroupListView.as_view(), name="st-api-groups"),
    path(
        "groups/<anytext:fingerprint>/",
        extraction_api.GroupDetailView.as_view(),
        name="st-api-group-detail",
    ),
    path(
        "extractions/<anytext:id>/review",
        extraction_api.ReviewView.as_view(),
        name="st-api-extraction-review",
    ),
    # OpenAPI schema (authenticated like the rest) and the Swagger UI page, served from the
    # vendored drf-spectacular-sidecar files; a browser without a session is sent to log in.
    path(
        "schema/",
        SpectacularAPIView.as_view(
            authentication_classes=[TokenAuthentication, SessionAuthentication],
            permission_classes=[IsAuthenticated],
        ),
        name="st-api-schema",
    ),
    path(
        "docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="st-api-schema")),
        name="st-api-docs",
    ),
]
