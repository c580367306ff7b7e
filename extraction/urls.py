from django.urls import path

from . import code_block_views, views

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
