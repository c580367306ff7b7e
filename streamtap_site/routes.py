"""Each app's routes as one table: its pages (`urlpatterns`, at the site root) and its API
(`api_urlpatterns`, under /api/; names carry the `st-api-` prefix), in the app's urls.py.

API path parameters use the `anytext` converter (streamtap_site/api_common.py) and the views
answer 404 themselves: an id the client got wrong gets the API's JSON 404, not an HTML page.
"""

from __future__ import annotations

from django.urls import URLPattern, path

import streamtap_site.api_common  # noqa: F401 (registers the `anytext` converter)


def routes(*table: tuple[str, object, str]) -> list[URLPattern]:
    """`(route, view, name)` rows as `path()`s; a view class is served by its `as_view()`."""
    return [
        path(route, view.as_view() if isinstance(view, type) else view, name=name)
        for route, view, name in table
    ]
