"""The extraction app's routes: its pages (`urlpatterns`, at the site root) and its API
(`api_urlpatterns`, under /api/; names carry the `st-api-` prefix).

API path parameters use the `anytext` converter (streamtap_site/api_common.py) and the views
answer 404 themselves: an id the client got wrong gets the API's JSON 404, not an HTML page.
"""

from django.urls import path

import streamtap_site.api_common  # noqa: F401 (registers the `anytext` converter)

from . import api, code_block_views, views

urlpatterns = [
    path("events/", views.events_list, name="st-events"),
    path("events/export", views.events_export, name="st-events-export"),
    path("code-blocks/", views.code_blocks_list, name="st-code-blocks"),
    path(
        "code-blocks/<str:sha256>/",
        code_block_views.code_block_detail,
        name="st-code-block-detail",
    ),
    path("problems/", views.problems_list, name="st-problems"),
    path("problems/<int:pk>/", views.group_detail, name="st-group-detail"),
]

api_urlpatterns = [
    path("query/extractions", api.ExtractionListView.as_view(), name="st-api-query-extractions"),
    path(
        "query/extractions/count",
        api.ExtractionCountView.as_view(),
        name="st-api-count-extractions",
    ),
    path(
        "query/extractions/export",
        api.ExtractionExportView.as_view(),
        name="st-api-export-extractions",
    ),
    path(
        "query/stats/agent/<anytext:name>",
        api.AgentStatsView.as_view(),
        name="st-api-agent-stats",
    ),
    path("code-blocks/", api.CodeBlockListView.as_view(), name="st-api-code-blocks"),
    path(
        "code-blocks/<anytext:sha256>/",
        api.CodeBlockDetailView.as_view(),
        name="st-api-code-block-detail",
    ),
    path("groups/", api.GroupListView.as_view(), name="st-api-groups"),
    path(
        "groups/<anytext:fingerprint>/",
        api.GroupDetailView.as_view(),
        name="st-api-group-detail",
    ),
    path(
        "extractions/<anytext:id>/review",
        api.ReviewView.as_view(),
        name="st-api-extraction-review",
    ),
]
