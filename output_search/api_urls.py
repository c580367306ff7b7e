"""Output search API routes (mounted under /api/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("output/", api.OutputSearchView.as_view(), name="st-api-output-search"),
    path("output/window/", api.OutputWindowView.as_view(), name="st-api-output-window"),
]
