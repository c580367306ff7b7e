"""Query parameters are checked the same way on every endpoint: an unknown one is a 400 naming
it (a misspelt filter silently ignored answers another question than the one asked), and so is
a pagination cursor the API cannot have given."""

import base64

import pytest
from django.urls import reverse

from tests.factories import make_code_block


def assert_400_naming(response, parameter: str) -> str:
    assert response.status_code == 400, response.content
    [message] = response.json()["errors"][parameter]
    return message


@pytest.fixture
def endpoints(world) -> dict[str, str]:
    """Every endpoint that takes no query parameters, by what it is."""
    return {
        "agent stats": reverse("st-api-agent-stats", args=["codex"]),
        "session": reverse("st-api-session-detail", args=[world.codex.session_id]),
        "code block": reverse("st-api-code-block-detail", args=[world.block.sha256]),
    }


@pytest.mark.parametrize("params", [{"days": "abc"}, {"days": "7"}, {"limit": "1"}])
def test_an_endpoint_without_parameters_rejects_any_given(owner_client, endpoints, params):
    for what, url in endpoints.items():
        response = owner_client.get(url, params)
        [name] = params
        message = assert_400_naming(response, name)
        assert message == "unknown parameter; this endpoint takes none", what


def test_a_cursor_is_unknown_where_nothing_is_paged(owner_client, endpoints):
    for url in endpoints.values():
        assert_400_naming(owner_client.get(url, {"cursor": "cD0x"}), "cursor")


def test_review_rejects_query_parameters_too(reviewer_client, world):
    url = reverse("st-api-extraction-review", args=[world.force_push.id])
    response = reviewer_client.post(url + "?dry_run=1", {"decision": "confirmed"}, format="json")
    assert_400_naming(response, "dry_run")
    world.force_push.refresh_from_db()
    assert world.force_push.review_status == "pending"


def test_the_same_endpoints_still_answer_without_parameters(owner_client, endpoints):
    for what, url in endpoints.items():
        assert owner_client.get(url).status_code == 200, what


def test_parameters_are_checked_after_credentials(outsider_client, endpoints):
    for url in endpoints.values():
        assert outsider_client.get(url, {"days": "abc"}).status_code == 401


LISTS = ["st-api-query-extractions", "st-api-query-sessions", "st-api-code-blocks"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("url_name", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        "[]",
        "{}",
        "\x00",
        "%00",
        "!!!!",
        "cD0x!",  # a valid cursor with a character base64 does not have
        "cD0",  # cut short
        b64("x=1"),  # not one of the cursor's own fields
        b64("p=1&p=2"),
        b64("o=-1"),
        b64("r=2"),
    ],
)
def test_a_malformed_cursor_is_a_400(owner_client, world, url_name, cursor):
    response = owner_client.get(reverse(url_name), {"cursor": cursor})
    assert "invalid cursor" in assert_400_naming(response, "cursor")


@pytest.mark.parametrize("url_name", LISTS)
def test_every_cursor_a_page_links_to_is_accepted(owner_client, world, url_name):
    make_code_block("print('a second block')\n")
    first = owner_client.get(reverse(url_name), {"limit": 1}).json()
    second = owner_client.get(first["next"])
    assert second.status_code == 200
    back = owner_client.get(second.json()["previous"])
    assert back.status_code == 200
    assert back.json()["results"] == first["results"]


def test_a_session_events_cursor_is_checked_too(owner_client, world):
    url = reverse("st-api-session-events", args=[world.codex.session_id])
    assert_400_naming(owner_client.get(url, {"cursor": "[]"}), "cursor")
