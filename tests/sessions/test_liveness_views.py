"""What the pages say about liveness: live sessions that still beat, the waiting badge on every
page, Approve/Deny in the lists for staff only, latest problems and counters that are links."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from extraction.groups import ErrorGroup
from sessions.models import LOST_AFTER_BEATS, SessionStatus, heartbeat_seconds
from tests.factories import make_event, make_session, make_user

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def viewer_client(client):
    client.force_login(make_user("vera"))
    return client


@pytest.fixture
def staff_client(client):
    client.force_login(make_user("stan", staff=True))
    return client


def waiting_session(session_id: str = "demo-1", question: str = "Delete build/? [y/N]"):
    session = make_session(
        "demo",
        session_id=session_id,
        status=SessionStatus.WAITING_FOR_INPUT,
        started_at=timezone.now(),
    )
    make_event(session, seq=1, event_type="prompt", rule="yes_no", content=question)
    session.state_changes.create(
        state="waiting_for_input",
        metadata={"seq": 1, "question": question, "can_approve": True, "risk_level": "medium"},
    )
    return session


def test_live_sessions_now_are_those_whose_tap_still_beats(viewer_client):
    beat = timedelta(seconds=heartbeat_seconds())
    now = timezone.now()
    make_session(
        session_id="beating",
        status=SessionStatus.RUNNING,
        started_at=now - timedelta(hours=26),
        last_heartbeat=now,
    )
    make_session(
        session_id="killed-9",
        status=SessionStatus.RUNNING,
        started_at=now - timedelta(hours=26),
        last_heartbeat=now - beat * (LOST_AFTER_BEATS + 1),
    )

    response = viewer_client.get(reverse("st-overview"))

    assert [s.session_id for s in response.context["live_sessions"]] == ["beating"]
    assert response.context["live_count"] == 1


def test_the_overview_counts_a_running_sessions_stored_events(viewer_client):
    session = make_session(status=SessionStatus.RUNNING, started_at=timezone.now())
    for _ in range(3):
        make_event(session)

    response = viewer_client.get(reverse("st-overview"))

    row = response.context["live_sessions"][0]
    assert (row.stored_events, row.stored_upto) == (3, 3)
    assert 'data-field="total" data-upto="3">3</td>' in response.content.decode()


def test_every_overview_counter_links_to_the_list_it_counts(viewer_client):
    page = html.unescape(viewer_client.get(reverse("st-overview")).content.decode())

    assert 'href="/events/?range=1h&type=error" id="stat-errors"' in page
    assert 'href="/events/?range=1h" id="stat-events"' in page
    assert 'href="/sessions/?status=running" id="stat-live"' in page
    assert 'href="/sessions/" id="stat-sessions"' in page
    assert 'id="stat-high-risk"' in page


def test_the_overview_shows_the_latest_problems_as_links(viewer_client):
    now = timezone.now()
    for n, title in enumerate(["ValueError: boom", HOSTILE]):
        ErrorGroup.objects.create(
            fingerprint=f"{n:032d}",
            event_type="error",
            rule="python_traceback",
            title=title,
            risk_level="medium",
            first_seen=now - timedelta(hours=3),
            last_seen=now - timedelta(minutes=n),
            count=4,
            session_count=1,
        )

    response = viewer_client.get(reverse("st-overview"))

    assert [g.title for g in response.context["problems"]] == ["ValueError: boom", HOSTILE]
    assert response.context["problems_last_hour"] == 2
    page = response.content.decode()
    first = ErrorGroup.objects.get(title="ValueError: boom")
    assert f'href="{first.get_absolute_url()}"' in page
    assert HOSTILE not in page


@pytest.mark.parametrize("name", ["st-overview", "st-sessions", "st-events", "st-problems"])
def test_every_page_shows_how_many_programs_wait_and_says_so_in_its_title(viewer_client, name):
    waiting_session("demo-1")
    waiting_session("demo-2")

    page = viewer_client.get(reverse(name)).content.decode()

    assert '<span id="waiting-count">2</span> waiting</a>' in page
    assert "<title>(2) " in page
    assert 'href="/sessions/?status=waiting_for_input"' in page


def test_nobody_waiting_hides_the_badge_and_leaves_the_title_alone(viewer_client):
    page = viewer_client.get(reverse("st-sessions")).content.decode()

    assert 'data-count="0"' in page and "<title>Sessions · streamtap</title>" in page


def test_staff_get_approve_and_deny_beside_a_waiting_session_in_both_lists(staff_client):
    waiting_session(question=HOSTILE)

    for name in ("st-sessions", "st-overview"):
        page = staff_client.get(reverse(name)).content.decode()
        assert 'class="row-decide" data-session="demo-1" data-seq="1"' in page, name
        assert 'data-decision="approve"' in page and 'data-decision="deny"' in page
        assert HOSTILE not in page
    assert 'data-can-decide="true"' in page


def test_other_users_get_no_buttons(viewer_client):
    waiting_session()

    for name in ("st-sessions", "st-overview"):
        page = viewer_client.get(reverse(name)).content.decode()
        assert "row-decide" not in page and "data-decision=" not in page, name
        assert "data-can-decide" not in page


def test_a_running_sessions_header_counts_its_stored_events(viewer_client):
    session = make_session(status=SessionStatus.RUNNING, started_at=timezone.now())
    make_event(session)
    make_event(session, event_type="warning")

    page = viewer_client.get(reverse("st-session-detail", args=[session.session_id])).content
    assert b'<span class="badge type-error">error 1</span>' in page
    assert b'<span class="badge type-warning">warning 1</span>' in page


def test_the_sessions_list_counts_a_running_sessions_stored_events(viewer_client):
    session = make_session(status=SessionStatus.RUNNING, started_at=timezone.now())
    make_event(session)
    make_event(session)
    make_session(session_id="done", event_counts={"warning": 7})

    page = viewer_client.get(reverse("st-sessions")).content.decode()

    assert '<span class="badge type-error" title="error">error 2</span>' in page
    assert '<span class="badge type-warning" title="warning">warning 7</span>' in page
