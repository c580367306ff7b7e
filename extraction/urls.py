"""The extraction app's routes: pages, then API (streamtap_site/routes.py says how). A list's
items, count and download are below the list's route."""

from streamtap_site.routes import routes

from . import api, code_block_views, views

CODE_BLOCKS = "code-blocks/"
EXTRACTIONS = "query/extractions"
GROUPS = "groups/"

urlpatterns = routes(
    ("events/", views.events_list, "st-events"),
    ("events/export", views.events_export, "st-events-export"),
    (CODE_BLOCKS, views.code_blocks_list, "st-code-blocks"),
    (CODE_BLOCKS + "<str:sha256>/", code_block_views.code_block_detail, "st-code-block-detail"),
    ("problems/", views.problems_list, "st-problems"),
    ("problems/<int:pk>/", views.group_detail, "st-group-detail"),
)

api_urlpatterns = routes(
    (EXTRACTIONS, api.ExtractionListView, "st-api-query-extractions"),
    (EXTRACTIONS + "/count", api.ExtractionCountView, "st-api-count-extractions"),
    (EXTRACTIONS + "/export", api.ExtractionExportView, "st-api-export-extractions"),
    ("query/stats/agent/<anytext:name>", api.AgentStatsView, "st-api-agent-stats"),
    (CODE_BLOCKS, api.CodeBlockListView, "st-api-code-blocks"),
    (CODE_BLOCKS + "<anytext:sha256>/", api.CodeBlockDetailView, "st-api-code-block-detail"),
    (GROUPS, api.GroupListView, "st-api-groups"),
    (GROUPS + "<anytext:fingerprint>/", api.GroupDetailView, "st-api-group-detail"),
    ("extractions/<anytext:id>/review", api.ReviewView, "st-api-extraction-review"),
)
