from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="st-overview"),
    path("sessions/", views.sessions_list, name="st-sessions"),
    path("sessions/<str:session_id>/", views.session_detail, name="st-session-detail"),
    path(
        "sessions/<str:session_id>/recording.cast",
        views.session_recording,
        name="st-session-recording",
    ),
]
