"""Text no database can store, from a tap over the ingest API: a 400 naming the field, nothing
half stored (a lone surrogate cannot be encoded as UTF-8; PostgreSQL refuses NUL in text)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from extraction.models import ExtractionEvent
from tests.factories import make_token, make_user

from .ingest_batches import batch, event_row


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("content", "half \ud800 a pair"),
        ("context", "ends in \udfff"),
        ("rule", "generic\x00error"),
        ("agent_name", "a\x00b"),
    ],
)
def test_unstorable_text_in_an_event_is_a_400_and_the_batch_is_not_stored(db, field, value):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('tapper', staff=True))}")
    body = json.dumps(batch(event_row(1, **{field: value}), event_row(2)))
    response = client.post("/api/ingest/batch", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]["events"][0]
    assert not ExtractionEvent.objects.exists()
