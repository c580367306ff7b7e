import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from extraction.event_shape import EVENT_FIELDS

URL = reverse("st-api-query-extractions")


def ids(response) -> list[int]:
    return [event["id"] for event in response.json()["results"]]


def test_anonymous_client_gets_401_with_a_token_challenge(outsider_client, world):
    response = outsider_client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_token_authenticates(owner_client, world):
    assert owner_client.get(URL).status_code == 200


def test_browser_session_authenticates(client, owner, world):
    client.force_login(owner)
    assert client.get(URL).status_code == 200


def test_events_come_newest_first_in_the_event_shape(owner_client, world):
    response = owner_client.get(URL)
    assert ids(response) == [
        world.code.id,
        world.metric.id,
        world.rm_prompt.id,
        world.force_push.id,
        world.traceback.id,
    ]
    first = response.json()["results"][0]
    assert set(first) >= {
        "id",
        *EVENT_FIELDS,
        "code_block",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    }
    assert first["session"] == "claude-20261121-090000"
    assert first["code_block"] == world.block.sha256


def test_the_event_fields_are_the_event_docs_architecture_md_promises():
    # The public contract is the EVENT written out in the docs ("The live bus"); the API's event
    # is "id", these, then its own fields (above).
    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    event = re.search(r"EVENT is the same shape as an API event:\s*`\{(.*?)\}`", doc, re.S)
    assert tuple(re.findall(r'"(\w+)"', event.group(1))) == EVENT_FIELDS


def test_review_details_are_in_the_event(owner_client, world):
    [event] = owner_client.get(URL, {"review_status": "confirmed"}).json()["results"]
    assert event["reviewed_by"] == "rey"
    assert event["review_note"] == "really destructive"
    assert event["reviewed_at"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": "claude"}, ["code", "metric"]),
        ({"type": "warning"}, ["force_push"]),
        ({"risk": "high"}, ["rm_prompt", "force_push"]),
        ({"severity": "critical"}, ["force_push"]),
        ({"session": "codex-20261120-100000"}, ["rm_prompt", "force_push", "traceback"]),
        ({"review_status": "pending", "risk": "high"}, ["force_push"]),
        ({"since": "2026-11-21"}, ["code", "metric"]),
        ({"until": "2026-11-20"}, ["rm_prompt", "force_push", "traceback"]),
        ({"since": "2026-11-20T10:02:00Z", "until": "2026-11-20T10:03:00+00:00"}, ["force_push"]),
        ({"q": "PUSH --force"}, ["force_push"]),
        ({"q": "pytest_sum"}, ["metric"]),
        ({"agent": "codex", "type": "prompt"}, ["rm_prompt"]),
        ({"agent": "nobody"}, []),
    ],
)
def test_each_filter_selects_its_events(owner_client, world, params, expected):
    response = owner_client.get(URL, params)
    assert response.status_code == 200, response.json()
    assert ids(response) == [getattr(world, name).id for name in expected]


def test_an_empty_parameter_means_any(owner_client, world):
    assert len(ids(owner_client.get(URL, {"agent": "", "type": ""}))) == 5


def test_cursor_pages_cover_everything_once_in_order(owner_client, world):
    seen, url, pages = [], URL + "?limit=2", 0
    while url:
        body = owner_client.get(url).json()
        assert len(body["results"]) <= 2
        seen += [event["id"] for event in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert seen == ids(owner_client.get(URL))


def test_default_page_is_50(owner_client, world):
    from tests.factories import make_event

    for _ in range(55):
        make_event(world.codex)
    body = owner_client.get(URL).json()
    assert len(body["results"]) == 50
    assert "cursor" in parse_qs(urlparse(body["next"]).query)


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"limit": "501"}, "limit", "at most 500"),
        ({"limit": "0"}, "limit", "at least 1"),
        ({"limit": "ten"}, "limit", "whole number"),
        (
            {"type": "explosion"},
            "type",
            "must be one of error, warning, metric, code_block, prompt",
        ),
        ({"risk": "extreme"}, "risk", "must be one of low, medium, high"),
        ({"severity": "x"}, "severity", "must be one of info, warning, error, critical"),
        ({"review_status": "maybe"}, "review_status", "must be one of pending, confirmed"),
        ({"since": "yesterday"}, "since", "ISO 8601"),
        ({"until": "2026-13-45"}, "until", "ISO 8601"),
        ({"session": "no-such-session"}, "session", "unknown session"),
        ({"agnet": "codex"}, "agnet", "unknown parameter; allowed: agent"),
        ({"cursor": "not-a-cursor"}, "cursor", "invalid cursor"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it_and_what_is_allowed(
    owner_client, world, params, parameter, says
):
    response = owner_client.get(URL, params)
    assert response.status_code == 400
    [message] = response.json()["errors"][parameter]
    assert says in message


def test_a_forged_cursor_position_is_a_400_not_a_server_error(owner_client, world):
    import base64

    cursor = base64.b64encode(b"p=not-a-date").decode()
    response = owner_client.get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_a_page_is_not_kept_by_the_paginator_once_its_links_are_made(owner_client, world):
    # DRF's view, request and paginator are a reference cycle: a page kept there would wait for
    # the cyclic collector (streamtap_site/api_common.py, StableCursorPagination).
    response = owner_client.get(URL, {"limit": 2})
    assert len(response.json()["results"]) == 2 and response.json()["next"]
    assert response.renderer_context["view"].paginator.page is None
