"""A session's page says how many events its tap dropped, when it dropped any (issue 18.9)."""

from __future__ import annotations

from django.urls import reverse

from tests.factories import make_session, make_user


def page(client, session) -> str:
    client.force_login(make_user("olivia"))
    response = client.get(reverse("st-session-detail", args=[session.session_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_header_shows_the_dropped_events(client, db):
    session = make_session(dropped_events=1234)
    html = page(client, session)
    assert 'id="session-dropped"' in html
    assert 'dropped <span class="mono">1234 events</span>' in html
    assert "manage.py recover" in html  # where they are, and how to get them back


def test_no_line_when_nothing_was_dropped(client, db):
    assert 'id="session-dropped"' not in page(client, make_session())
