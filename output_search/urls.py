"""The output search's routes: its page, then its API (streamtap_site/routes.py says how)."""

from streamtap_site.routes import routes

from . import api, views

urlpatterns = routes(
    ("search/", views.search_page, "st-output-search"),
)

api_urlpatterns = routes(
    ("output/", api.OutputSearchView, "st-api-output-search"),
    ("output/window/", api.OutputWindowView, "st-api-output-window"),
)
