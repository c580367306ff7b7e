"""A filtered list of events as a CSV or NDJSON download, streamed.

The rows are read in keyset chunks (newest first, EXPORT_CHUNK at a time), each chunk one
short query, and written out as they come: 100,000 events take the memory of one chunk, and
no query or transaction stays open while the client reads. Each row has the API's event shape
(`event_data`); stored text is already redacted.

Under ASGI (daphne) the body is an asynchronous iterator that fetches each chunk in a worker
thread: Django reads a synchronous iterator there into a list first, which would hold the
whole export in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone

from .queries import older_than
from .serializers import ExtractionEventSerializer, event_data, event_values

EXPORT_CHUNK = 2000
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# such a cell gets a leading quote, which shows the text as it is.
FORMULA_STARTS = frozenset("=+-@\t\r")


def event_chunks(queryset, size: int = EXPORT_CHUNK) -> Iterator[list[dict]]:
    """The events of `queryset` in the API's shape, newest first, `size` per list."""
    queryset = queryset.order_by("-timestamp", "-id")
    rows = list(event_values(queryset[:size]))
    while rows:
        yield event_data(rows)
        if len(rows) < size:
            return
        last = rows[-1]
        rows = list(event_values(older_than(queryset, last["timestamp"], last["id"])[:size]))


def csv_cell(value) -> str | int | float:
    # Strings first and cheaply: an export calls this for every field of every event.
    if type(value) is str:
        return "'" + value if value[:1] in FORMULA_STARTS else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return csv_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return value


def csv_parts(chunks: Iterator[list[dict]], columns: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for events in chunks:
        writer.writerows([csv_cell(event[name]) for name in columns] for event in events)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    # The header alone, for an empty list.
    if buffer.tell():
        yield buffer.getvalue()


def ndjson_parts(chunks: Iterator[list[dict]]) -> Iterator[str]:
    for events in chunks:
        yield "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events)


def export_parts(queryset, fmt: str) -> Iterator[str]:
    chunks = event_chunks(queryset, EXPORT_CHUNK)
    if fmt == "ndjson":
        return ndjson_parts(chunks)
    # The CSV's columns: the API event's fields, in its order.
    return csv_parts(chunks, list(ExtractionEventSerializer.Meta.fields))


async def in_thread(parts: Iterator[str]) -> AsyncIterator[str]:
    done = object()
    while (part := await sync_to_async(next)(parts, done)) is not done:
        yield part


def export_response(request, queryset, fmt: str) -> StreamingHttpResponse:
    parts = export_parts(queryset, fmt)
    # A DRF Request wraps Django's.
    asgi = isinstance(getattr(request, "_request", request), ASGIRequest)
    body = in_thread(parts) if asgi else parts
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="streamtap-events-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
