"""GET /api/output/ and /api/output/window/, and the /search/ page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.urls import reverse

from output_search.models import OutputLine
from sessions.models import SessionStatus
from sessions.recording import AsciicastWriter
from tests.factories import make_session

pytestmark = pytest.mark.django_db


def recorded_session(tmp_path: Path, name: str, *chunks: str, **fields):
    path = tmp_path / f"{name}.cast"
    writer = AsciicastWriter(path, width=100, height=30, started=time.time())
    for i, chunk in enumerate(chunks):
        writer.output(1.5 + i, chunk)
    writer.close()
    return make_session(recording_path=str(path), session_id=name, **fields)


@pytest.fixture
def pytest_run(tmp_path):
    return recorded_session(
        tmp_path,
        "pytest-1",
        "collected 2 items\n",
        "E       assert 4 == 5\n",
        "<script>alert(1)</script> assert 4 == 5 again\n",
    )


def test_search_needs_credentials(outsider_client):
    assert outsider_client.get(reverse("st-api-output-search"), {"q": "x"}).status_code == 401


def test_search_finds_lines_no_rule_matched_and_indexes_ended_sessions_on_demand(
    owner_client, pytest_run
):
    response = owner_client.get(reverse("st-api-output-search"), {"q": "ASSERT 4 == 5"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["session"], r["line"], r["text"]) for r in results] == [
        ("pytest-1", 2, "E       assert 4 == 5"),
        ("pytest-1", 3, "<script>alert(1)</script> assert 4 == 5 again"),
    ]
    first = results[0]
    assert first["matches"] == [[8, 21]]
    assert first["offset_seconds"] == 2.5
    assert first["url"] == "/sessions/pytest-1/?line=2"
    assert response.json()["next"] is None


def test_search_pages_with_next_links(owner_client, tmp_path):
    recorded_session(tmp_path, "many", "".join(f"match {i}\n" for i in range(1, 8)))
    url, seen = reverse("st-api-output-search") + "?q=match&limit=3", []
    while url:
        body = owner_client.get(url).json()
        seen += [r["line"] for r in body["results"]]
        url = body["next"]
    assert seen == [1, 2, 3, 4, 5, 6, 7]


def test_search_in_one_session_and_in_an_unknown_one(owner_client, pytest_run, tmp_path):
    recorded_session(tmp_path, "other", "assert 4 == 5\n")
    url = reverse("st-api-output-search")
    one = owner_client.get(url, {"q": "assert", "session": "other"}).json()["results"]
    assert [(r["session"], r["line"]) for r in one] == [("other", 1)]
    assert owner_client.get(url, {"q": "assert", "session": "nope"}).json()["results"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "x", "after": "1.2; DROP TABLE"}, "after"),
        ({"q": "x", "after": "-1.2"}, "after"),
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "limit": "lots"}, "limit"),
        ({"q": "x", "sesion": "typo"}, "sesion"),
    ],
)
def test_bad_search_parameters_are_a_400_naming_them(owner_client, params, field):
    response = owner_client.get(reverse("st-api-output-search"), params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("q", ['"', "NEAR(", "a OR", "*", "^x", "'; --", "\\", "%%", "💥x"])
def test_any_text_is_a_valid_query(owner_client, pytest_run, q):
    assert owner_client.get(reverse("st-api-output-search"), {"q": q}).status_code == 200


def test_the_window_of_a_long_session_starts_where_it_is_asked(owner_client, tmp_path):
    lines = [f"line {i}\n" for i in range(1, 30_001)]
    recorded_session(
        tmp_path, "long", *("".join(lines[i : i + 1000]) for i in range(0, 30_000, 1000))
    )
    response = owner_client.get(reverse("st-api-output-window"), {"session": "long", "line": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["first_line"], body["last_line"], body["total_lines"]) == (1, 400, 30_000)
    assert body["text"].startswith("line 1\nline 2\n") and body["text"].endswith("line 400\n")
    assert (body["cols"], body["rows"], body["complete"]) == (100, 30, True)
    # The index was built on the way.
    assert OutputLine.objects.filter(session__session_id="long").count() == 30_000


def test_window_errors(owner_client, outsider_client, tmp_path):
    url = reverse("st-api-output-window")
    make_session(session_id="gone", recording_path=str(tmp_path / "missing.cast"))
    assert outsider_client.get(url, {"session": "x", "line": 1}).status_code == 401
    assert owner_client.get(url, {"session": "nope", "line": 1}).status_code == 404
    missing = owner_client.get(url, {"session": "gone", "line": 1})
    assert missing.status_code == 404 and "no recording" in missing.json()["detail"]
    for bad in ({"session": "gone"}, {"session": "gone", "line": "0"}, {"line": "1"}):
        assert owner_client.get(url, bad).status_code == 400


# --- the page -------------------------------------------------------------------------------


def test_the_search_page_needs_a_login(client):
    response = client.get(reverse("st-output-search"), {"q": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_search_page_marks_the_match_and_keeps_program_output_as_text(
    client, owner, pytest_run
):
    client.force_login(owner)
    response = client.get(reverse("st-output-search"), {"q": "assert 4 == 5"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<mark class="hit">assert 4 == 5</mark>' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="/sessions/pytest-1/?line=2"' in html


def test_the_search_page_says_what_is_wrong_with_a_bad_query(client, owner):
    client.force_login(owner)
    response = client.get(reverse("st-output-search"), {"q": "x" * 300})
    assert response.status_code == 400
    assert "no more than 200 characters" in response.content.decode()


def test_a_running_session_is_left_to_its_tap_by_a_search_across_sessions(owner_client, tmp_path):
    recorded_session(tmp_path, "live", "needle\n", status=SessionStatus.RUNNING)
    url = reverse("st-api-output-search")
    assert owner_client.get(url, {"q": "needle"}).json()["results"] == []
    # Asked about that session itself, the page indexes it (the window does too).
    found = owner_client.get(url, {"q": "needle", "session": "live"}).json()["results"]
    assert [r["line"] for r in found] == [1]


def test_every_page_links_to_the_search(client, owner):
    client.force_login(owner)
    html = client.get(reverse("st-output-search")).content.decode()
    assert f'href="{reverse("st-output-search")}" class="active" aria-current="page"' in html
