"""The event lists build their JSON from plain rows (`event_values` + `event_data`) instead of
ExtractionEventSerializer; the output must be the serializer's, byte for byte."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from extraction.models import ExtractionEvent
from extraction.queries import events_for_api
from extraction.serializers import ExtractionEventSerializer, event_data, event_values
from tests.factories import make_event


@pytest.fixture
def varied(world):
    """The API world plus events with every kind of metadata and review state."""
    make_event(world.codex, metadata={"exit_code": 1, "argv": ["rm", "-rf"], "nested": {"a": None}})
    make_event(world.codex, metadata=[1, 2.5, "x"], auto_confirmable=True, offset_seconds=0)
    make_event(world.claude, metadata="just text", content="ünïcödé ✓ \x7f", context="ctx\n")
    return world


def both(queryset):
    rows = event_data(event_values(queryset))
    reference = ExtractionEventSerializer(list(queryset), many=True).data
    return rows, reference


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_rows_give_the_serializer_output_byte_for_byte(varied, zone):
    queryset = events_for_api().order_by("-timestamp", "-id")
    with timezone.override(zone):
        rows, reference = both(queryset)
    assert len(rows) == ExtractionEvent.objects.count() == 8
    assert rows == reference
    assert JSONRenderer().render(rows) == JSONRenderer().render(reference)
    assert [list(row) for row in rows] == [list(item) for item in reference]  # key order


def test_the_list_endpoints_answer_with_the_serializer_output(owner_client, varied):
    queryset = events_for_api().order_by("-timestamp", "-id")
    reference = JSONRenderer().render(ExtractionEventSerializer(list(queryset), many=True).data)
    body = owner_client.get(reverse("st-api-query-extractions"), {"limit": 500}).json()
    assert JSONRenderer().render(body["results"]) == reference

    session = varied.codex
    in_seq = events_for_api().filter(session=session).order_by("seq")
    reference = JSONRenderer().render(ExtractionEventSerializer(list(in_seq), many=True).data)
    body = owner_client.get(f"/api/sessions/{session.session_id}/events/").json()
    assert JSONRenderer().render(body["results"]) == reference
