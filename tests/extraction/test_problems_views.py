"""The Problems page (one row per error group) and a group's page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from extraction.models import ErrorGroup
from tests.extraction.group_factories import error_rows, insert
from tests.factories import make_session

PROBLEMS = reverse("st-problems")
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def problems(db):
    now = timezone.now()
    codex = make_session("codex", session_id="codex-20261120-100000")
    claude = make_session("claude", session_id="claude-20261120-110000")
    insert(codex, error_rows(6, now - timedelta(hours=3), message="ERROR disk full on sd{i}"))
    insert(claude, error_rows(2, now - timedelta(minutes=5), 1, "claude", f"ERROR {HOSTILE}"))
    return {g.rule + str(g.count): g for g in ErrorGroup.objects.all()}


def row_titles(response) -> list[str]:
    assert response.status_code == 200
    return [row["group"].title for row in response.context["rows"]]


def test_problems_needs_a_login(client, problems):
    response = client.get(PROBLEMS)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_problems_are_listed_newest_first_or_by_count(client_in, problems):
    assert row_titles(client_in.get(PROBLEMS)) == [f"ERROR {HOSTILE}", "ERROR disk full on sd0"]
    by_count = client_in.get(PROBLEMS, {"order": "count"})
    assert row_titles(by_count) == ["ERROR disk full on sd0", f"ERROR {HOSTILE}"]


def test_problems_filter_by_agent_session_and_time(client_in, problems):
    assert row_titles(client_in.get(PROBLEMS, {"agent": "claude"})) == [f"ERROR {HOSTILE}"]
    assert row_titles(client_in.get(PROBLEMS, {"session": "codex-20261120-100000"})) == [
        "ERROR disk full on sd0"
    ]
    since = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert row_titles(client_in.get(PROBLEMS, {"since": since})) == [f"ERROR {HOSTILE}"]


def test_a_bad_filter_says_what_is_wrong_and_shows_everything(client_in, problems):
    response = client_in.get(PROBLEMS, {"session": "nope", "order": "loudest"})
    assert len(row_titles(response)) == 2
    assert "unknown session" in response.content.decode()


def test_each_problem_has_a_sparkline_of_its_occurrences(client_in, problems):
    rows = client_in.get(PROBLEMS).context["rows"]
    totals = {row["group"].count: row["spark_total"] for row in rows}
    assert totals == {6: 6, 2: 2}
    assert all(len(row["spark"].split()) == 24 for row in rows)


def test_program_output_is_escaped_on_both_pages(client_in, problems):
    group = ErrorGroup.objects.get(count=2)
    for url in (PROBLEMS, group.get_absolute_url()):
        html = client_in.get(url).content.decode()
        assert HOSTILE not in html
        assert "&lt;script&gt;" in html


def test_a_group_page_shows_its_representative_sessions_and_replay_links(client_in, problems):
    group = ErrorGroup.objects.get(count=6)
    response = client_in.get(group.get_absolute_url())
    html = response.content.decode()
    assert response.context["representative"].content == "ERROR disk full on sd0"
    assert len(response.context["occurrences"]) == 6
    replay = reverse("st-session-replay", args=["codex-20261120-100000"])
    assert html.count(f'href="{replay}?t=') == 7  # each occurrence, and the representative
    assert client_in.get(reverse("st-group-detail", args=[999999])).status_code == 404


def test_the_header_links_to_problems(client_in, problems):
    html = client_in.get(reverse("st-events")).content.decode()
    assert f'href="{PROBLEMS}"' in html


def test_problems_come_fifty_to_a_page_keeping_the_filters(client_in, db):
    session = make_session("codex", session_id="codex-20261120-120000")
    for n in range(51):
        insert(session, error_rows(1, timezone.now(), n + 1, "codex", f"ERROR problem{'x' * n}"))
    first = client_in.get(PROBLEMS, {"agent": "codex"})
    assert len(first.context["rows"]) == 50
    assert 'href="?agent=codex&amp;page=2"' in first.content.decode()
    assert len(client_in.get(PROBLEMS, {"agent": "codex", "page": 2}).context["rows"]) == 1
