"""The 500 page has the site's look and needs nothing that could fail with the error."""

from __future__ import annotations

from django.views.defaults import server_error


def test_the_500_page_is_styled_like_the_site(rf):
    # Django renders it without a request context (user, messages…): it must not need one.
    response = server_error(rf.get("/sessions/x/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "css/streamtap.css" in html
    assert 'class="topbar"' in html
    assert "Something broke" in html
    assert "Logout" not in html  # no user is known on this page
