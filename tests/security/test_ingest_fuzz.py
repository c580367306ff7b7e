"""Fuzzing what a tap may send (issue 15): whatever arrives is accepted or a 400, never a crash.

Bounded for CI (a few seconds): the examples are capped and each one is small.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions.ingest import LiveFrameSerializer, checked_frame
from sessions.ingest_api import IngestBatchSerializer
from tests.factories import make_token, make_user

from .ingest_batches import batch, event_row

URL = "/api/ingest/batch"
BOUNDED = settings(
    max_examples=120,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
EVENT_FIELDS = list(event_row(1))
BATCH_FIELDS = ["spec", "events", "states", "stats", "finish"]


@st.composite
def damaged_batches(draw) -> dict:
    """A valid batch with one event field and one batch field replaced by anything."""
    row = event_row(draw(st.integers(min_value=1, max_value=5)))
    row[draw(st.sampled_from(EVENT_FIELDS))] = draw(json_values)
    damaged = batch(row, event_row(9))
    damaged[draw(st.sampled_from(BATCH_FIELDS))] = draw(json_values | st.just(damaged["spec"]))
    return damaged


def validates_or_refuses(serializer_class, data) -> None:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        assert serializer.errors  # says what is wrong


@BOUNDED
@given(data=json_values | damaged_batches())
def test_the_batch_serializer_refuses_anything_it_cannot_store(data):
    validates_or_refuses(IngestBatchSerializer, data)


@BOUNDED
@given(
    frame=json_values
    | st.fixed_dictionaries(
        {"type": st.just("live.batch")},
        optional={
            "session": json_values,
            "events": json_values,
            "states": json_values,
            "output": json_values,
            "output_gap": json_values,
            "session_info": json_values,
        },
    )
)
def test_the_live_frame_serializer_refuses_anything_malformed(frame):
    validates_or_refuses(LiveFrameSerializer, frame)


@st.composite
def damaged_frames(draw) -> dict:
    """A tap's live frame of two events, one field of one event (or none) replaced by anything."""
    first, second = event_row(1), event_row(2)
    if draw(st.booleans()):
        first[draw(st.sampled_from(EVENT_FIELDS))] = draw(json_values)
    return {
        "type": "live.batch",
        "session": "far-away-1",
        "events": [first, second],
        "states": [{"state": "running", "timestamp": None, "metadata": {}}],
        "session_info": {"last_seq": 2, "event_counts": {"error": 2}},
    }


@BOUNDED
@given(frame=damaged_frames() | json_values)
def test_the_ingest_socket_checks_a_frame_as_a_new_serializer_would(frame):
    # The socket reuses one serializer's fields (sessions.ingest.checked_frame): the same
    # verdict, the same validated values, the same errors, frame after frame.
    fresh = LiveFrameSerializer(data=frame)
    data, errors = checked_frame(frame)
    if fresh.is_valid():
        assert (data, errors) == (fresh.validated_data, None)
    else:
        assert (data, errors) == (None, fresh.errors)


@pytest.fixture
def staff_client(db):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('tapper', staff=True))}")
    return client


@settings(BOUNDED, max_examples=60)
@given(data=damaged_batches())
def test_the_ingest_endpoint_answers_a_damaged_batch_with_200_or_400(staff_client, data):
    body = json.dumps(data, allow_nan=True)
    response = staff_client.post(URL, body, content_type="application/json")
    assert response.status_code in (200, 400), response.content[:500]
    if response.status_code == 400:
        assert list(response.json()) == ["errors"]


@settings(BOUNDED, max_examples=60)
@given(body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_the_ingest_endpoint_answers_any_bytes_with_400(staff_client, body):
    response = staff_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400, response.content[:500]
    assert list(response.json()) == ["errors"]
