"""Rows 10 and 16 (the ingest part) of issue 15, against POST /api/ingest/batch on a real daphne:
deeply nested JSON is a 400 in the API's error shape; duplicates are not counted as stored;
a tap cannot set an event's review."""

from __future__ import annotations

import json

import pytest

from extraction.models import ExtractionEvent

from .http_clients import post_json
from .ingest_batches import batch, event_row

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

URL = "/api/ingest/batch"


def batch_with_deep_metadata(depth: int) -> bytes:
    # Built as text: json.dumps itself recurses and gives up long before 100,000 levels.
    text = json.dumps(batch(event_row(1, metadata="DEEP")))
    return text.replace('"DEEP"', '{"a": ' * depth + "{}" + "}" * depth).encode()


@pytest.mark.parametrize("depth", [500, 5_000, 100_000])
def test_json_nested_hundreds_of_levels_is_a_400(daphne, tap_token, depth):
    expected = {"errors": {"body": ["JSON parse error - JSON nested deeper than 32 levels"]}}
    for body in (("[" * depth + "]" * depth).encode(), batch_with_deep_metadata(depth)):
        assert post_json(daphne, URL, body, token=tap_token) == (400, expected)
    assert ExtractionEvent.objects.count() == 0


def test_a_duplicate_is_not_counted_as_stored(daphne, tap_token):
    rows = [event_row(1), event_row(1), event_row(2)]
    status, body = post_json(daphne, URL, batch(*rows), token=tap_token)
    assert (status, body["stored"]) == (200, 2)
    status, body = post_json(daphne, URL, batch(*rows, event_row(3)), token=tap_token)
    assert (status, body["stored"]) == (200, 1)  # a retried batch: only seq 3 is new
    assert sorted(ExtractionEvent.objects.values_list("seq", flat=True)) == [1, 2, 3]


def test_a_tap_cannot_review_its_own_events(daphne, tap_token):
    decided = event_row(
        1,
        risk_level="high",
        review_status="confirmed",
        review_note="looks fine to me",
        reviewed_at="2026-01-01T00:00:00+00:00",
        reviewed_by=1,
        reviewed_by_id=1,
        prompt_decision="approve",
        prompt_decision_by="tap",
        prompt_decided_by_id=1,
        prompt_decided_at="2026-01-01T00:00:00+00:00",
    )
    status, body = post_json(daphne, URL, batch(decided), token=tap_token)
    assert (status, body["stored"]) == (200, 1)
    event = ExtractionEvent.objects.get()
    assert (event.review_status, event.review_note, event.reviewed_at) == ("pending", "", None)
    assert event.reviewed_by_id is None
    assert event.prompt_decided_by_id is None and event.prompt_decided_at is None
    assert event.prompt_decision != "approve"
