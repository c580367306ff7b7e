from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.events_list, name="st-events"),
    path("code-blocks/", views.code_blocks_list, name="st-code-blocks"),
    path("problems/", views.problems_list, name="st-problems"),
    path("problems/<int:pk>/", views.group_detail, name="st-group-detail"),
]
