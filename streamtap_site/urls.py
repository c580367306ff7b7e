from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "streamtap review"
admin.site.site_title = "streamtap admin"
admin.site.index_title = "Sessions, events and review"

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that declare none (the admin's).
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("sessions.replay_api_urls")),
    path("api/", include("sessions.tap_api_urls")),
    path("api/", include("streamtap_site.api_urls")),
    path("api/", include("output_search.api_urls")),
    path("", include("extraction.urls")),
    path("", include("sessions.replay_urls")),
    path("", include("sessions.urls")),
    path("", include("output_search.urls")),
]
