from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_event, make_session

LIST = reverse("st-api-query-sessions")


def session_ids(response) -> list[str]:
    return [s["session_id"] for s in response.json()["results"]]


def test_sessions_list_needs_authentication(outsider_client, world):
    assert outsider_client.get(LIST).status_code == 401


def test_sessions_come_newest_first(owner_client, world):
    response = owner_client.get(LIST)
    assert session_ids(response) == ["claude-20261121-090000", "codex-20261120-100000"]
    claude = response.json()["results"][0]
    assert claude["status"] == "failed"
    assert claude["duration_seconds"] == 120.0
    assert claude["url"] == "/sessions/claude-20261121-090000/"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": "codex"}, ["codex-20261120-100000"]),
        ({"status": "failed"}, ["claude-20261121-090000"]),
        ({"status": "running"}, []),
    ],
)
def test_sessions_filters(owner_client, world, params, expected):
    assert session_ids(owner_client.get(LIST, params)) == expected


def test_days_keeps_recent_sessions_only(owner_client, world):
    recent = make_session("codex", started_at=timezone.now() - timedelta(hours=3))
    assert session_ids(owner_client.get(LIST, {"days": 1})) == [recent.session_id]


def test_sessions_paginate_with_a_cursor(owner_client, world):
    first = owner_client.get(LIST, {"limit": 1}).json()
    second = owner_client.get(first["next"]).json()
    assert [s["session_id"] for s in first["results"] + second["results"]] == [
        "claude-20261121-090000",
        "codex-20261120-100000",
    ]
    assert second["next"] is None


# Each parameter's values that are refused.
BAD_VALUES = {"days": ["-1", "a week", "99999999"], "status": ["sleeping"], "limit": ["1000"]}


@pytest.mark.parametrize(
    ("parameter", "value"),
    [(parameter, value) for parameter, values in BAD_VALUES.items() for value in values],
)
def test_bad_session_parameters_are_400s(owner_client, world, parameter, value):
    response = owner_client.get(LIST, {parameter: value})
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_session_detail_has_its_state_changes(owner_client, world):
    url = reverse("st-api-session-detail", args=["claude-20261121-090000"])
    body = owner_client.get(url).json()
    assert body["session_id"] == "claude-20261121-090000"
    assert [change["state"] for change in body["state_changes"]] == ["running", "failed"]


def test_unknown_session_is_a_404(owner_client, world):
    assert owner_client.get(reverse("st-api-session-detail", args=["nope"])).status_code == 404
    assert owner_client.get(reverse("st-api-session-events", args=["nope"])).status_code == 404


def test_a_session_id_with_a_slash_is_a_json_404(owner_client, world):
    response = owner_client.get("/api/sessions/a%2Fb/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_session_events_are_in_seq_order(owner_client, world):
    url = reverse("st-api-session-events", args=["codex-20261120-100000"])
    body = owner_client.get(url).json()
    assert [event["seq"] for event in body["results"]] == [1, 2, 3]


def test_session_events_resync_after_seq(owner_client, world):
    for _ in range(4):
        make_event(world.codex)
    url = reverse("st-api-session-events", args=["codex-20261120-100000"])
    first = owner_client.get(url, {"after_seq": 2, "limit": 3}).json()
    assert [event["seq"] for event in first["results"]] == [3, 4, 5]
    rest = owner_client.get(first["next"]).json()
    assert [event["seq"] for event in rest["results"]] == [6, 7]


@pytest.mark.parametrize("after_seq", ["-1", "x", str(2**40)])
def test_bad_after_seq_is_a_400(owner_client, world, after_seq):
    url = reverse("st-api-session-events", args=["codex-20261120-100000"])
    response = owner_client.get(url, {"after_seq": after_seq})
    assert response.status_code == 400
    assert "after_seq" in response.json()["errors"]
