"""Every route: the site's own (login, admin, the API's root, schema and docs) and each app's
pages and API (`urlpatterns` and `api_urlpatterns` in its urls.py)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, login_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated

from extraction import urls as extraction_urls
from extraction.api import APIRootView
from output_search import urls as output_search_urls
from sessions import urls as sessions_urls

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
    # The API: each app's routes, the root, and the OpenAPI schema (authenticated like the
    # rest) with its Swagger UI page, served from the vendored drf-spectacular-sidecar files (a
    # browser without a session is sent to log in).
    path("api/", include(sessions_urls.api_urlpatterns)),
    path("api/", APIRootView.as_view(), name="st-api-root"),
    path("api/", include(extraction_urls.api_urlpatterns)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            authentication_classes=[TokenAuthentication, SessionAuthentication],
            permission_classes=[IsAuthenticated],
        ),
        name="st-api-schema",
    ),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="st-api-schema")),
        name="st-api-docs",
    ),
    path("api/", include(output_search_urls.api_urlpatterns)),
    # The pages.
    path("", include(extraction_urls.urlpatterns)),
    path("", include(sessions_urls.urlpatterns)),
    path("", include(output_search_urls.urlpatterns)),
]
