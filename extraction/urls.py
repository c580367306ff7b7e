from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.events_list, name="st-events"),
    path("code-blocks/", views.code_blocks_list, name="st-code-blocks"),
]
