"""One event shape (issue 18 item 1): the API, a live frame, replay and `extract --json` give the
same keys, with the same values, for the same event; the lists that describe a tap's row agree
with extraction/event_shape.py."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from extraction.engine import Extractor
from extraction.event_shape import EVENT_FIELDS, ROW_FIELDS, event_json, event_row
from extraction.models import ExtractionEvent
from extraction.serializers import API_ONLY_FIELDS, ExtractionEventSerializer
from sessions.ingest_api import EventRowSerializer, LiveEventSerializer
from sessions.live import event_row_to_wire
from tests.factories import make_session, make_user
from tests.security.conftest import start_daphne
from tests.security.websocket_clients import Viewer, events_frame, local_tap_headers, open_socket

OUTPUT = "compiling\nERROR: disk quota exceeded on /srv\n"


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):
    server = start_daphne(tmp_path_factory.mktemp("daphne"))
    yield server
    server.stop()


def found_event():
    """What the extractor finds in OUTPUT: one error."""
    extractor = Extractor()
    events = [*extractor.feed(OUTPUT), *extractor.close()]
    assert len(events) == 1
    return events[0]


def tap_row(session_start: datetime) -> dict:
    """The row a tap builds for the event (sessions/pipeline.py) and hands writer and publisher."""
    offset = 1.25
    return event_row(
        found_event(),
        seq=1,
        agent_name="codex",
        timestamp=datetime.fromtimestamp(session_start.timestamp() + offset, tz=UTC),
        offset_seconds=offset,
    )


def write_recording(path) -> str:
    with open(path, "w") as f:
        f.write(json.dumps({"version": 2, "width": 80, "height": 24, "timestamp": 0}) + "\n")
        f.write(json.dumps([1.25, "o", OUTPUT]) + "\n")
    return str(path)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_api_live_replay_and_extract_give_one_shape(daphne, tmp_path):
    session = make_session(
        "codex",
        status="running",
        exit_code=None,
        recording_path=write_recording(tmp_path / "s.cast"),
    )
    row = tap_row(session.started_at)
    staff = make_user("watcher", staff=True)

    # Live: a real daphne, the tap's ingest socket, a logged-in viewer's socket.
    viewer = Viewer(daphne, staff, session.session_id)
    try:
        with open_socket(daphne, "/ws/ingest/", headers=local_tap_headers(daphne)) as tap:
            tap.send(events_frame(session.session_id, event_row_to_wire(row, session.session_id)))
            [live] = viewer.next_events()
    finally:
        viewer.close()

    # Stored as the writer stores it, then read back through the API and replay.
    ExtractionEvent.objects.create(session=session, **row)
    client = APIClient()
    client.force_login(staff)
    [api] = client.get(f"/api/sessions/{session.session_id}/events/").json()["results"]
    replay = client.get(f"/api/replay/session/{session.session_id}/index").json()
    [replayed] = replay["events"]

    path = tmp_path / "out.log"
    path.write_text(OUTPUT)
    out = io.StringIO()
    call_command("extract", str(path), "--json", stdout=out)
    [extracted] = [json.loads(line) for line in out.getvalue().splitlines()]

    assert list(live) == list(EVENT_FIELDS)
    assert list(replayed) == list(EVENT_FIELDS)
    assert list(api) == ["id", *EVENT_FIELDS, *API_ONLY_FIELDS]
    # `extract` has the same keys; "type", "start_line", "end_line" are deprecated aliases.
    assert set(extracted) == {"file", *EVENT_FIELDS, "type", "start_line", "end_line"}

    shown = {name: api[name] for name in EVENT_FIELDS}
    assert live == shown
    assert replayed == shown
    # Without a session, an agent or a clock, `extract` gives what it found, numbered alike.
    nothing_there = {"session", "agent_name", "timestamp", "offset_seconds"}
    assert {k: v for k, v in extracted.items() if k in EVENT_FIELDS} == {
        **{k: v for k, v in shown.items() if k not in nothing_there},
        **dict.fromkeys(nothing_there),
    }
    assert shown["event_type"] == "error" and shown["line_start"] == 2
    assert shown["session"] == session.session_id and shown["review_status"] == "pending"


def test_the_serializer_lists_the_event_fields():
    fields = ExtractionEventSerializer.Meta.fields
    assert fields[1 : 1 + len(EVENT_FIELDS)] == list(EVENT_FIELDS)


def test_ingest_validates_every_field_of_a_taps_row():
    # A field added to the row must get a validator, or a remote tap's events would lose it.
    assert tuple(EventRowSerializer().fields) == ROW_FIELDS
    assert set(LiveEventSerializer().fields) == set(EVENT_FIELDS)


def test_event_json_fills_what_the_source_lacks():
    data = event_json(found_event())
    assert list(data) == list(EVENT_FIELDS)
    assert data["review_status"] == "pending" and data["session"] is None
    assert data["timestamp"] is None and data["offset_seconds"] is None


def test_times_are_utc_with_z():
    when = datetime(2026, 12, 3, 15, 30, 0, 123456, tzinfo=UTC)
    row = {**tap_row(when), "timestamp": when}
    assert event_json(row)["timestamp"] == "2026-12-03T15:30:00.123456Z"
