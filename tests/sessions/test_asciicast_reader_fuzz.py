"""Fuzzing the asciicast reader (issue 15, "Also"): any file gives events or a RecordingError,
never another exception or a hang. Bounded: a few seconds in CI."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions.recording import CastEvent, RecordingError, checked_header, iter_events

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
headers = st.fixed_dictionaries(
    {"version": st.sampled_from([2, 3])},
    optional={
        "width": json_values,
        "height": json_values,
        "timestamp": json_values,
        "term": json_values,
        "title": json_values,
        "command": json_values,
    },
)
rows = st.lists(json_values, max_size=4) | json_values
lines = st.one_of(rows.map(lambda row: json.dumps(row)), st.text(max_size=40))


def read_all(path: Path, strict: bool) -> list[CastEvent]:
    try:
        checked_header(path)
        return list(iter_events(path, strict=strict))
    except RecordingError:
        return []


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(header=headers, body=st.lists(lines, max_size=6), strict=st.booleans())
def test_any_recording_gives_events_or_a_recording_error(header, body, strict):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.cast"
        path.write_text("\n".join([json.dumps(header), *body]) + "\n")
        for event in read_all(path, strict):
            assert isinstance(event.offset, float) and event.offset >= 0
            assert isinstance(event.code, str) and isinstance(event.data, str)


@settings(max_examples=100, deadline=1000)
@given(raw=st.binary(max_size=300), strict=st.booleans())
def test_any_bytes_give_events_or_a_recording_error(raw, strict):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.cast"
        path.write_bytes(raw)
        read_all(path, strict)
