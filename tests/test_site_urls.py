"""Site-wide routes outside the apps."""

import pytest
from django.templatetags.static import static
from django.urls import resolve, reverse


def test_the_favicon_browsers_ask_for_on_every_page_is_there(client, db):
    # The admin's pages declare no icon, so browsers ask for /favicon.ico (a 404 before).
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")


def test_the_admin_is_branded(admin_client):
    response = admin_client.get("/admin/")
    assert b"streamtap review" in response.content
    assert b"Django administration" not in response.content


# Every path of the dashboard and the API, as it was before the URL modules became one per app
# (issue 18 item 6): the paths are a public interface.
ROUTES = [
    ("st-overview", [], "/"),
    ("st-sessions", [], "/sessions/"),
    ("st-session-detail", ["s1"], "/sessions/s1/"),
    ("st-session-replay", ["s1"], "/sessions/s1/replay/"),
    ("st-session-recording", ["s1"], "/sessions/s1/recording.cast"),
    ("st-events", [], "/events/"),
    ("st-events-export", [], "/events/export"),
    ("st-code-blocks", [], "/code-blocks/"),
    ("st-code-block-detail", ["ab"], "/code-blocks/ab/"),
    ("st-problems", [], "/problems/"),
    ("st-group-detail", [3], "/problems/3/"),
    ("st-api-root", [], "/api/"),
    ("st-api-query-extractions", [], "/api/query/extractions"),
    ("st-api-export-extractions", [], "/api/query/extractions/export"),
    ("st-api-count-extractions", [], "/api/query/extractions/count"),
    ("st-api-query-sessions", [], "/api/query/sessions"),
    ("st-api-agent-stats", ["codex"], "/api/query/stats/agent/codex"),
    ("st-api-session-events", ["s1"], "/api/sessions/s1/events/"),
    ("st-api-session-detail", ["s1"], "/api/sessions/s1/"),
    ("st-api-session-recording", ["s1"], "/api/sessions/s1/recording.cast"),
    ("st-api-replay", ["s1"], "/api/replay/session/s1"),
    ("st-api-replay-index", ["s1"], "/api/replay/session/s1/index"),
    ("st-api-replay-range", ["s1"], "/api/replay/session/s1/range"),
    ("st-api-ingest-batch", [], "/api/ingest/batch"),
    ("st-api-prompt-pending", ["s1"], "/api/sessions/s1/prompts/pending"),
    ("st-api-prompt-decision", ["s1", 4], "/api/sessions/s1/prompts/4/decision"),
    ("st-api-code-blocks", [], "/api/code-blocks/"),
    ("st-api-code-block-detail", ["ab"], "/api/code-blocks/ab/"),
    ("st-api-groups", [], "/api/groups/"),
    ("st-api-group-detail", ["f0"], "/api/groups/f0/"),
    ("st-api-extraction-review", [7], "/api/extractions/7/review"),
    ("st-api-schema", [], "/api/schema/"),
    ("st-api-docs", [], "/api/docs/"),
]


@pytest.mark.parametrize(("name", "args", "path"), ROUTES)
def test_every_route_keeps_its_path_and_resolves_back_to_its_name(name, args, path):
    assert reverse(name, args=args) == path
    assert resolve(path).url_name == name


def test_a_sessions_events_are_not_read_as_a_session_called_x_events():
    assert resolve("/api/sessions/x/events/").url_name == "st-api-session-events"
    assert resolve("/api/sessions/x/events/").kwargs == {"session_id": "x"}
