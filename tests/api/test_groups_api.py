"""GET /api/groups/: problems with filters and cursor pages; each event names its group."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

from extraction.models import ErrorGroup, ExtractionEvent
from tests.extraction.group_factories import error_rows, insert
from tests.factories import make_session, make_token, make_user
from tests.security.ingest_batches import batch, event_row

URL = reverse("st-api-groups")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def problems(db):
    """Three problems: 'disk full' (5× in codex, 2× in claude), 'timeout' (3×), 'denied' (1×)."""
    codex = make_session("codex", session_id="codex-20261120-100000", started_at=T0)
    claude = make_session("claude", session_id="claude-20261120-110000", started_at=T0)
    insert(codex, error_rows(5, T0, agent="codex", message="ERROR disk full on sd{i}"))
    insert(codex, error_rows(3, T0 + timedelta(hours=1), 6, "codex", "ERROR timeout after {i}s"))
    insert(
        claude,
        error_rows(2, T0 + timedelta(hours=2), agent="claude", message="ERROR disk full on sd{i}"),
    )
    insert(claude, error_rows(1, T0 + timedelta(minutes=30), 3, "claude", "ERROR denied"))
    return {g.title.split(" ")[1]: g for g in ErrorGroup.objects.all()}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [g["title"] for g in response.json()["results"]]


def test_groups_come_most_recently_seen_first_with_counts_and_agents(owner_client, problems):
    response = owner_client.get(URL)
    assert titles(response) == ["ERROR disk full on sd0", "ERROR timeout after 0s", "ERROR denied"]
    disk = response.json()["results"][0]
    assert disk["count"] == 7
    assert disk["session_count"] == 2
    assert disk["agents"] == ["claude", "codex"]
    assert disk["review_status"] == "pending"
    assert disk["fingerprint"] == problems["disk"].fingerprint


def test_groups_by_count_and_filtered_by_agent_session_and_time(owner_client, problems):
    assert titles(owner_client.get(URL, {"order": "count"}))[0] == "ERROR disk full on sd0"
    assert titles(owner_client.get(URL, {"agent": "claude"})) == [
        "ERROR disk full on sd0",
        "ERROR denied",
    ]
    assert titles(owner_client.get(URL, {"session": "codex-20261120-100000"})) == [
        "ERROR disk full on sd0",
        "ERROR timeout after 0s",
    ]
    since = (T0 + timedelta(minutes=90)).isoformat()
    assert titles(owner_client.get(URL, {"since": since})) == ["ERROR disk full on sd0"]


def test_groups_page_with_a_cursor_without_repeating_any(owner_client, problems):
    first = owner_client.get(URL, {"limit": 2, "order": "count"}).json()
    second = owner_client.get(first["next"]).json()
    assert [g["count"] for g in first["results"] + second["results"]] == [7, 3, 1]
    assert second["next"] is None


def test_bad_group_parameters_are_400_naming_them(owner_client, problems):
    response = owner_client.get(URL, {"order": "loudest", "session": "nope"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"order", "session"}
    response = owner_client.get(URL, {"colour": "red"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"colour"}


def test_anonymous_client_gets_401(outsider_client, problems):
    assert outsider_client.get(URL).status_code == 401


def test_one_group_by_fingerprint_and_404_for_an_unknown_one(owner_client, problems):
    disk = problems["disk"]
    response = owner_client.get(reverse("st-api-group-detail", args=[disk.fingerprint]))
    assert response.json()["count"] == 7
    assert response.json()["representative"] == disk.representative_id
    missing = owner_client.get(reverse("st-api-group-detail", args=["0" * 32]))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}


def test_each_event_names_its_group(owner_client, problems):
    events = owner_client.get(reverse("st-api-query-extractions"), {"limit": 50}).json()["results"]
    assert {e["group"] for e in events} == {g.fingerprint for g in problems.values()}
    event = ExtractionEvent.objects.filter(group=problems["timeout"]).first()
    assert {e["group"] for e in events if e["id"] == event.id} == {problems["timeout"].fingerprint}


def test_a_remote_taps_batch_is_grouped_once_however_often_it_is_sent(db):
    tap_host = make_user("tap-host")
    tap_host.user_permissions.add(Permission.objects.get(codename="add_extractionevent"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(tap_host)}")
    rows = [
        event_row(seq, content=f"ERROR: upload {seq} refused after {seq * 3} ms")
        for seq in (1, 2, 3)
    ]
    for _ in range(2):  # a retried batch
        response = client.post(reverse("st-api-ingest-batch"), batch(*rows), format="json")
        assert response.status_code == 200, response.content
    (group,) = ErrorGroup.objects.all()
    assert (group.count, group.session_count) == (3, 1)
