"""The event's shape, written once: its fields and the one function that turns an event into JSON.

The API, the live feed, replay, ingest and `extract --json` all give an event as ``event_json()``
makes it, so a field added here reaches every one of them (issue 18 item 1). No Django import:
the engine side (`extract`, the tap's pipeline) uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

# What the extractor finds in the output (extraction.engine.events.Event's fields).
FOUND_FIELDS = (
    "event_type",
    "rule",
    "severity",
    "risk_level",
    "auto_confirmable",
    "line_start",
    "line_end",
    "content",
    "context",
    "metadata",
)
# A tap's event row as it hands it to the writer and ingest receives it: what was found, numbered
# (seq: the event's identity within its session) and placed in time.
ROW_FIELDS = ("seq", "agent_name", *FOUND_FIELDS, "timestamp", "offset_seconds")
# The EVENT of docs/architecture.md ("The live bus"): the same keys everywhere an event is shown.
EVENT_FIELDS = ("session", *ROW_FIELDS, "review_status")

# In a prompt event's metadata: the program printed text on a later line before the prompt was
# even reported, so it did not wait there (or was answered by what it reads, as `yes | apt`).
# Nothing is typed into it and the session is not shown waiting.
WENT_ON = "program_went_on"

# What a field is when the source does not have it (a tap's row has no review yet; the
# engine's event has no session, number or time).
EVENT_DEFAULTS = {"context": "", "review_status": "pending"}


def json_time(value: datetime | str | None) -> str | None:
    """A datetime as ISO 8601 in UTC with "Z", as the API (DRF) writes it."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def event_json(event: Mapping | object, **known) -> dict:
    """An event as JSON: every key of EVENT_FIELDS, in that order.

    ``event`` is a mapping (a tap's row, a ``values()`` row) or an object with the fields as
    attributes (an ExtractionEvent, the engine's Event); ``known`` gives fields the source does
    not hold itself, e.g. ``session="codex-…"`` (an ExtractionEvent's ``session`` is a row, not
    its id) or ``seq=3`` for an event `extract` numbered.
    """
    if isinstance(event, Mapping):
        get = event.get
    else:

        def get(name, default=None):
            return getattr(event, name, default)

    data = {}
    for name in EVENT_FIELDS:
        value = known[name] if name in known else get(name, EVENT_DEFAULTS.get(name))
        data[name] = value
    data["auto_confirmable"] = bool(data["auto_confirmable"])
    if data["metadata"] is None:
        data["metadata"] = {}
    if data["offset_seconds"] is not None:
        data["offset_seconds"] = float(data["offset_seconds"])
    data["timestamp"] = json_time(data["timestamp"])
    return data


def event_row(event, **where) -> dict:
    """A tap's row (ROW_FIELDS) for an event the extractor found: ``where`` gives seq,
    agent_name, timestamp and offset_seconds."""
    row = {name: getattr(event, name) for name in FOUND_FIELDS}
    row.update(where)
    return row
