"""`/api/query/extractions`: `rule` and `group` filters, and the same list as a streamed CSV or
NDJSON download (`/api/query/extractions/export?format=csv|ndjson`)."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from extraction.models import ExtractionEvent
from tests.extraction.group_factories import make_group
from tests.factories import make_session, make_token

LIST = reverse("st-api-query-extractions")
EXPORT = reverse("st-api-export-extractions")


def ids(response) -> list[int]:
    return [event["id"] for event in response.json()["results"]]


def test_rule_selects_one_rules_events(owner_client, world):
    response = owner_client.get(LIST, {"rule": "dangerous_command"})
    assert response.status_code == 200
    assert ids(response) == [world.force_push.id]


def test_group_selects_one_problems_occurrences(owner_client, world):
    group = make_group("a" * 32, world.traceback.timestamp)
    ExtractionEvent.objects.filter(pk=world.traceback.pk).update(group=group)
    response = owner_client.get(LIST, {"group": group.fingerprint})
    assert ids(response) == [world.traceback.id]
    assert response.json()["results"][0]["group"] == group.fingerprint


def test_times_come_out_as_iso_8601_with_a_zone(owner_client, world):
    stamp = owner_client.get(LIST).json()["results"][0]["timestamp"]
    assert stamp.endswith(("Z", "+00:00"))


def test_count_is_what_the_events_page_counts(owner_client, owner, client, world):
    COUNT = reverse("st-api-count-extractions")
    client.force_login(owner)
    for params in ({}, {"agent": "codex"}, {"until": "2026-11-20"}, {"rule": "nothing"}):
        body = owner_client.get(COUNT, params).json()
        page = client.get(reverse("st-events"), params).content.decode()
        assert f'<strong data-field="count">{body["count"]}</strong>' in page
        assert body["more"] is False
    assert owner_client.get(COUNT, {"limit": "5"}).status_code == 400


def test_csv_export_is_the_filtered_list(owner_client, world):
    response = owner_client.get(EXPORT, {"format": "csv", "agent": "codex", "risk": "high"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in rows] == ids(
        owner_client.get(LIST, {"agent": "codex", "risk": "high"})
    )
    assert rows[-1]["content"] == "$ git push --force origin main"


def test_ndjson_export_lines_are_the_list_results(owner_client, world):
    response = owner_client.get(EXPORT, {"format": "ndjson", "since": "2026-11-21"})
    assert response["Content-Type"] == "application/x-ndjson"
    events = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert events == owner_client.get(LIST, {"since": "2026-11-21"}).json()["results"]


def test_export_refuses_what_the_list_refuses(owner_client, outsider_client, world):
    assert outsider_client.get(EXPORT).status_code == 401
    response = owner_client.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 400
    assert "must be one of csv, ndjson" in response.json()["errors"]["format"][0]
    response = owner_client.get(EXPORT, {"until": "tomorrow"})
    assert response.status_code == 400
    assert "ISO 8601" in response.json()["errors"]["until"][0]
    # An export holds every matching event: a page size means nothing there.
    assert "limit" in owner_client.get(EXPORT, {"limit": "5"}).json()["errors"]


def test_export_over_asgi_streams_from_an_asynchronous_iterator(transactional_db, owner, world):
    # Committed rows: under ASGI the view runs in a thread of its own, with its own connection.
    token = make_token(owner)

    async def download():
        response = await AsyncClient().get(
            EXPORT, {"format": "ndjson"}, headers={"Authorization": f"Token {token}"}
        )
        assert response.status_code == 200
        # Django reads a synchronous iterator into a list under ASGI: the body must be async.
        assert response.is_async
        return b"".join([part async for part in response.streaming_content])

    lines = async_to_sync(download)().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        world.code.id,
        world.metric.id,
        world.rm_prompt.id,
        world.force_push.id,
        world.traceback.id,
    ]


def insert_events(session, n: int, content: str) -> None:
    """`n` events in one INSERT … SELECT: creating 100,000 model instances takes a minute."""
    moment = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=1))
    empty = "'{}'::jsonb" if connection.vendor == "postgresql" else "'{}'"
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "INSERT INTO extraction_events (session_id, seq, agent_name, event_type, rule, "
            "severity, risk_level, auto_confirmable, line_start, line_end, content, context, "
            "metadata, timestamp, offset_seconds, review_status, review_note) "
            "SELECT %s, i, 'busy', 'error', 'python_traceback', 'error', 'medium', FALSE, i, i, "
            f"%s, '', {empty}, %s, 0, 'pending', '' FROM n",
            [n, session.pk, content, moment],
        )


@pytest.mark.slow
def test_an_export_of_100k_events_takes_the_memory_of_one_chunk(owner_client, db):
    # All at one timestamp: the chunks' keyset steps on the id alone.
    insert_events(make_session("busy"), 100_000, "x" * 400)
    response = owner_client.get(EXPORT, {"format": "csv"})
    tracemalloc.start()
    try:
        total = lines = 0
        for part in response.streaming_content:
            total += len(part)
            lines += part.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 100_001  # the header and every event
    assert total > 40_000_000
    # The whole file is over 40 MB; streaming it held a small part of that at any time.
    assert peak < 15_000_000, f"peak {peak:,} bytes"
