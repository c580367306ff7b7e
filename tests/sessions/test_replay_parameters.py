"""The replay API's parameters: a bad value is a JSON 400 naming the parameter, never a 500.

Every numeric parameter is tried negative, huge, non-numeric and (floats) NaN and infinite. The
one value that is clamped rather than refused is a seek past the end of the recording: the page
rounds the time it seeks to, so its "the end" can be a fraction of a millisecond past the end.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions.replay_index import RecordingIndex
from tests.factories import make_session

from .test_replay import body_of, session_with_recording, write_cast

CHUNKS = [(float(i), f"line {i}\r\n") for i in range(10)]
HUGE_INTEGERS = ["9223372036854775807", "9223372036854775808", "99999999999999999999999999"]
NOT_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"]


@pytest.fixture
def session(tmp_path, db):
    return session_with_recording(tmp_path, CHUNKS)


def range_url(session) -> str:
    return reverse("st-api-replay-range", args=[session.session_id])


def assert_400_naming(response, parameter: str) -> str:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert list(errors) == [parameter]
    [message] = errors[parameter]
    return message


# --- range?cursor= ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        *HUGE_INTEGERS,
        *(f"{n}:0.0" for n in HUGE_INTEGERS),
        "-1",
        "-1:0.0",
        "x",
        "1.5",
        "0x10",
        "1_0",
        ":",
        "1:2:3",
        *(f"0:{value}" for value in NOT_FINITE),
        pytest.param("9" * 5000, id="5000 nines"),
    ],
)
def test_a_cursor_no_range_can_have_given_is_a_400(owner_client, session, cursor):
    response = owner_client.get(range_url(session), {"cursor": cursor})
    assert "must be a cursor from a previous range" in assert_400_naming(response, "cursor")


def test_a_cursor_past_the_end_of_the_recording_is_a_400(owner_client, session):
    end = owner_client.get(range_url(session), {"start": 0}).json()["cursor"]
    byte = int(end.partition(":")[0])
    response = owner_client.get(range_url(session), {"cursor": f"{byte + 1}:0.0"})
    assert "past the end of the recording" in assert_400_naming(response, "cursor")


def test_a_cursor_inside_a_line_is_a_400(owner_client, session):
    first = owner_client.get(range_url(session), {"start": 0}).json()
    second_line = first["cursor"]  # read to the end: any byte before it is a line's
    byte = int(second_line.partition(":")[0]) - 3
    response = owner_client.get(range_url(session), {"cursor": f"{byte}:0.0"})
    assert "not at the start of a line" in assert_400_naming(response, "cursor")


def test_a_cursor_inside_the_header_is_a_400(owner_client, session):
    response = owner_client.get(range_url(session), {"cursor": "1:0.0"})
    assert "not at the start of a line" in assert_400_naming(response, "cursor")


def test_a_cursor_at_the_end_of_a_live_recording_means_nothing_more_yet(owner_client, tmp_path):
    path = write_cast(tmp_path / "live.cast", CHUNKS)
    live = make_session(status="running", recording_path=str(path))
    end = owner_client.get(range_url(live), {"start": 0}).json()["cursor"]
    body = owner_client.get(range_url(live), {"cursor": end}).json()
    assert body["frames"] == [] and body["eof"] is True and body["live"] is True
    assert body["cursor"] == end


def test_every_cursor_a_range_gives_is_accepted(owner_client, tmp_path, db):
    chunks = [(i * 0.01, f"{i:05d} " + "x" * 200 + "\r\n") for i in range(3000)]
    session = session_with_recording(tmp_path, chunks)
    body = owner_client.get(range_url(session), {"start": 0}).json()
    frames = len(body["frames"])
    while not body["eof"]:
        body = owner_client.get(range_url(session), {"cursor": body["cursor"]}).json()
        frames += len(body["frames"])
    assert frames == 3000


# --- range?start= and the stream's floats ----------------------------------------------------


@pytest.mark.parametrize(
    "start", ["-1", "-0.001", "x", "", *NOT_FINITE, pytest.param("9" * 2000, id="2000 nines")]
)
def test_a_bad_range_start_is_a_400(owner_client, session, start):
    response = owner_client.get(range_url(session), {"start": start})
    assert_400_naming(response, "start")


@pytest.mark.parametrize("start", ["9.0001", "99999", "1e308", "9223372036854775808"])
def test_a_range_start_past_the_end_seeks_to_the_end(owner_client, session, start):
    body = owner_client.get(range_url(session), {"start": start}).json()
    assert body["start"] == 9.0
    assert body["frames"] == [[9.0, "o", "line 9\r\n"]] and body["eof"] is True


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        *(("speed", value) for value in ["0", "0.001", "5e-324", "-1", "65", "1e308", "x"]),
        *(("speed", value) for value in NOT_FINITE),
        *(("idle_time_limit", value) for value in ["0", "-1", "x", *NOT_FINITE]),
        *(("start", value) for value in ["-1", "x", "1e308", *NOT_FINITE]),
    ],
)
def test_a_bad_stream_number_is_a_400(owner_client, session, parameter, value):
    response = owner_client.get(
        reverse("st-api-replay", args=[session.session_id]), {parameter: value}
    )
    assert_400_naming(response, parameter)


def test_the_slowest_stream_speed_is_still_accepted(owner_client, tmp_path, db):
    session = session_with_recording(tmp_path, [(0.0, "only\r\n")])
    url = reverse("st-api-replay", args=[session.session_id])
    response = owner_client.get(url, {"speed": "0.01"})
    assert response.status_code == 200
    assert b'"only\\r\\n"' in body_of(response)


def test_a_seek_past_the_end_finds_the_end(tmp_path):
    # The stream lets a live session's start pass the end (the end moves); the seek copes.
    index = RecordingIndex.open(write_cast(tmp_path / "rec.cast", CHUNKS))
    seek = index.seek(1e308)
    assert seek.cursor.byte == index.size
    assert seek.keyframe.endswith("line 9\r\n")


# --- unknown parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("st-api-replay", {"cursor": "0:0.0"}),  # the stream has no cursor
        ("st-api-replay", {"sped": "2"}),
        ("st-api-replay-range", {"start": "0", "limit": "10"}),
        ("st-api-replay-index", {"days": "abc"}),
        ("st-api-session-recording", {"format": "json"}),
    ],
)
def test_an_unknown_parameter_is_a_400(owner_client, session, name, params):
    response = owner_client.get(reverse(name, args=[session.session_id]), params)
    assert response.status_code == 400
    [unknown] = set(params) - {"start"}
    assert "unknown parameter" in response.json()["errors"][unknown][0]
