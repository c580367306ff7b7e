from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="st-overview"),
    path("sessions/<str:session_id>/", views.session_detail, name="st-session-detail"),
]
