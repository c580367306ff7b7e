"""`?q=` on the events API: a case-insensitive substring of the content or the rule.

On SQLite an FTS5 trigram index answers it (extraction/search.py); these tests check that the
answer is exactly what `icontains` gives, whatever state the index is in (fresh rows not yet
indexed, deleted rows, edited rows) and whichever plan is chosen. On PostgreSQL the same tests
run against the plain icontains path.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from extraction import search
from extraction.models import ExtractionEvent
from sessions.retention import prune_session
from tests.api.conftest import T0
from tests.factories import make_event, make_session

URL = reverse("st-api-query-extractions")

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the FTS index exists on SQLite only"
)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [event["id"] for event in response.json()["results"]]


def icontains_ids(q: str) -> list[int]:
    """The reference answer: the plain LIKE / UPPER LIKE filter, newest first."""
    return list(
        ExtractionEvent.objects.filter(search.text_filter(q))
        .order_by("-timestamp", "-id")
        .values_list("id", flat=True)
    )


def indexed(q: str) -> set[int]:
    """Event ids the FTS index itself matches for `q` (no join back to the table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {search.FTS} WHERE {search.FTS} MATCH %s", [search.fts_phrase(q)]
        )
        return {row[0] for row in cursor.fetchall()}


def used_index(queries) -> bool:
    """Whether the page came from the index's matches (looked up by id, no other index)."""
    return any("NOT INDEXED" in query["sql"] for query in queries)


@pytest.fixture
def search_world(world):
    """The API world plus events whose text tests the edges of "substring, any case"."""
    session = world.codex
    extra = {
        "quotes": 'say "hi" to 100%_done',
        "mixed": "DeadLock detected in Worker-7",
        "umlaut": "Größe ÄRGER im Build",
        "spaces": "a   b",
        "crlf": "line one\r\nline two",
    }
    events = {
        name: make_event(session, content=content, timestamp=T0 + timedelta(hours=i + 1))
        for i, (name, content) in enumerate(extra.items())
    }
    world.extra = events
    return world


QUERIES = [
    "push --FORCE",  # case-insensitive
    "ush --fo",  # inside words
    "deadlock",
    "DEADLOCK DETECTED",
    "pytest_sum",  # the rule, not the content
    "Traceback",
    '"hi"',  # an FTS5 quote is a literal character
    "100%_",  # and LIKE's wildcards are too
    "100%x",
    "a   b",  # whitespace inside is text (the ends are trimmed)
    "ärger",  # non-ASCII: whatever icontains says on this backend
    "ÄRGER",
    "e one\r\nli",
    "nothing like this",
    "rm",  # shorter than a trigram
    "a",
]


@pytest.mark.parametrize("q", QUERIES)
def test_q_answers_exactly_what_icontains_answers(owner_client, search_world, q):
    expected = icontains_ids(q)
    assert ids(owner_client.get(URL, {"q": q, "limit": 500})) == expected


def test_q_finds_substrings_in_any_case(owner_client, search_world):
    mixed = search_world.extra["mixed"].id
    for q in ("deadlock", "DEADLOCK", "adLoCk detected in worker-", "Worker-7"):
        assert ids(owner_client.get(URL, {"q": q})) == [mixed], q


@sqlite_only
def test_q_of_three_or_more_characters_uses_the_index(owner_client, search_world):
    with CaptureQueriesContext(connection) as long_q:
        assert ids(owner_client.get(URL, {"q": "force"})) == [search_world.force_push.id]
    assert used_index(long_q.captured_queries)
    with CaptureQueriesContext(connection) as short_q:
        owner_client.get(URL, {"q": "rm"})
    assert not any("MATCH" in query["sql"] for query in short_q.captured_queries)
    assert not used_index(short_q.captured_queries)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "rm", "agent": "codex"}, ["rm_prompt"]),
        ({"q": "traceback", "agent": "claude"}, []),
        ({"q": "traceback", "agent": "codex"}, ["traceback"]),
        ({"q": "pytest", "type": "metric"}, ["metric"]),
        ({"q": "push", "risk": "high", "review_status": "pending"}, ["force_push"]),
        ({"q": "remove", "review_status": "confirmed"}, ["rm_prompt"]),
        ({"q": "def f", "session": "claude-20261121-090000"}, ["code"]),
        ({"q": "git push", "since": "2026-11-20T10:02:00Z"}, ["force_push"]),
        ({"q": "git push", "until": "2026-11-20T10:02:00Z"}, []),
    ],
)
def test_q_combines_with_the_other_filters(owner_client, world, params, expected):
    assert ids(owner_client.get(URL, params)) == [getattr(world, name).id for name in expected]


def test_q_pages_cover_every_match_once_in_order(owner_client, world):
    for i in range(7):
        make_event(world.claude, content=f"needle {i}", timestamp=T0 + timedelta(days=2))
    expected = icontains_ids("needle")
    seen, url = [], f"{URL}?q=NEEDLE&limit=2"
    while url:
        body = owner_client.get(url).json()
        assert len(body["results"]) <= 2
        seen += [event["id"] for event in body["results"]]
        url = body["next"]
    assert seen == expected
    assert len(seen) == 7


def test_q_sees_events_stored_after_the_index_was_built(owner_client, world):
    assert ids(owner_client.get(URL, {"q": "kubectl"})) == []
    fresh = make_event(world.codex, content="$ kubectl delete namespace prod")
    assert ids(owner_client.get(URL, {"q": "KUBECTL delete"})) == [fresh.id]
    if search.has_index():
        assert fresh.id in indexed("kubectl")  # the query caught the index up


@sqlite_only
def test_rows_the_catch_up_has_not_reached_are_still_found(owner_client, world, monkeypatch):
    monkeypatch.setattr(search, "CATCH_UP_ROWS", 0)
    fresh = make_event(world.codex, content="$ helm uninstall prod")
    with CaptureQueriesContext(connection) as queries:
        assert ids(owner_client.get(URL, {"q": "helm uninstall"})) == [fresh.id]
    assert used_index(queries.captured_queries)
    assert fresh.id not in indexed("helm uninstall")


@sqlite_only
def test_a_frequent_term_walks_the_time_index_with_the_same_answer(
    owner_client, search_world, monkeypatch
):
    monkeypatch.setattr(search, "frequent_after", lambda limit, events: 0)
    with CaptureQueriesContext(connection) as queries:
        assert ids(owner_client.get(URL, {"q": "push --force"})) == [search_world.force_push.id]
    assert not used_index(queries.captured_queries)


def test_pruned_events_are_not_found(owner_client, world):
    old = make_session("codex", started_at=T0 - timedelta(days=90))
    doomed = make_event(old, content="$ terraform destroy -auto-approve")
    assert ids(owner_client.get(URL, {"q": "terraform destroy"})) == [doomed.id]
    prune_session(old)
    assert ids(owner_client.get(URL, {"q": "terraform destroy"})) == []
    if search.has_index():
        assert indexed("terraform destroy") == set()  # gone from the index, not just hidden


def test_deleted_events_leave_the_index(owner_client, world):
    owner_client.get(URL, {"q": "force"})  # index everything
    world.force_push.delete()
    world.claude.delete()  # its events go by cascade
    assert ids(owner_client.get(URL, {"q": "push --force"})) == []
    assert ids(owner_client.get(URL, {"q": "passed in"})) == []
    if search.has_index():
        assert indexed("push --force") == indexed("passed in") == set()


def test_edited_content_is_found_by_its_new_text(owner_client, world):
    owner_client.get(URL, {"q": "force"})  # index everything
    ExtractionEvent.objects.filter(pk=world.force_push.pk).update(content="[redacted]")
    assert ids(owner_client.get(URL, {"q": "push --force"})) == []
    assert ids(owner_client.get(URL, {"q": "REDACTED"})) == [world.force_push.id]
    if search.has_index():
        assert indexed("redacted") == {world.force_push.id}


@sqlite_only
def test_triggers_come_back_after_a_migration_rebuilt_the_table(world):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {search.FTS}_delete")
    search.ensure_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [search.TABLE],
        )
        assert {row[0] for row in cursor.fetchall()} >= {
            f"{search.FTS}_delete",
            f"{search.FTS}_update",
        }


def test_the_dashboard_search_gives_the_same_answer(client, owner, search_world):
    client.force_login(owner)
    for q in ("PUSH --force", "rm", "Größe"):
        page = client.get("/events/", {"q": q}).context["page"]
        assert [event.id for event in page.events] == icontains_ids(q)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_search_while_another_writer_holds_the_lock_is_complete(owner_client, world):
    import sqlite3

    fresh = make_event(world.codex, content="$ docker system prune -af")
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a tap's writer in the middle of a batch
        assert ids(owner_client.get(URL, {"q": "system prune"})) == [fresh.id]
        assert fresh.id not in indexed("system prune")  # the catch-up gave way
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ids(owner_client.get(URL, {"q": "system prune"})) == [fresh.id]
    assert fresh.id in indexed("system prune")
