"""Row 9 of issue 15: big and anonymous request bodies are refused before they are read.

Attacked as it was: a real daphne, a client that pushes a 200 MB body without waiting, and
daphne's resident memory read from /proc before and after.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync

from streamtap_site.asgi import application

from .conftest import rss_kib, start_daphne
from .http_clients import body_of, post_big, post_json, status_of
from .ingest_batches import batch, event_row

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MB = 1024 * 1024


def head(length: int | None, token: str | None = None, path="/api/ingest/batch") -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if token:
        lines.append(f"Authorization: Token {token}")
    return "\r\n".join(lines) + "\r\n\r\n"


def test_an_anonymous_200_mb_post_is_refused_before_its_body_is_read(daphne):
    before = rss_kib(daphne.process.pid)
    response, seconds, sent = post_big(daphne, head(200 * MB), 200 * MB)
    assert status_of(response) == 401, response[:300]
    assert body_of(response) == {"detail": "Authentication credentials were not provided."}
    assert b"WWW-Authenticate: Token" in response
    assert seconds < 2, seconds
    assert sent < 50 * MB, sent  # the server hung up; the rest was never sent
    grown = rss_kib(daphne.process.pid) - before
    assert grown < 20 * 1024, f"daphne grew by {grown} KiB"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_token_holder_cannot_send_more_than_the_limit(daphne, tap_token, chunked):
    before = rss_kib(daphne.process.pid)
    length = None if chunked else 200 * MB
    response, seconds, sent = post_big(daphne, head(length, tap_token), 200 * MB, chunked)
    assert status_of(response) == 413, response[:300]
    assert body_of(response) == {"detail": f"Request body larger than {16 * MB} bytes."}
    assert seconds < 10, seconds
    assert sent < 100 * MB, sent
    grown = rss_kib(daphne.process.pid) - before
    assert grown < 40 * 1024, f"daphne grew by {grown} KiB"


def test_the_limit_is_configurable(tmp_path, tap_token):
    server = start_daphne(tmp_path / "small", STREAMTAP_MAX_REQUEST_BYTES="100000")
    try:
        filler = {"note": "x" * 120_000}
        status, body = post_json(
            server, "/api/ingest/batch", {**batch(), **filler}, token=tap_token
        )
        assert (status, body) == (413, {"detail": "Request body larger than 100000 bytes."})
        status, body = post_json(server, "/api/ingest/batch", batch(event_row(1)), token=tap_token)
        assert status == 200, body
    finally:
        server.stop()


def test_a_body_that_streams_past_the_limit_is_refused_by_the_asgi_middleware(settings):
    # Servers that stream bodies to the application (not daphne: it buffers, see above) meet
    # the limit in the middleware, which stops counting at the limit and answers 413.
    settings.STREAMTAP = {**settings.STREAMTAP, "MAX_REQUEST_BYTES": 1000}
    chunks = [b"{" + b" " * 600, b" " * 600, b"}"]
    sent = []

    async def receive():
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/ingest/batch",
        "raw_path": b"/api/ingest/batch",
        "query_string": b"",
        "headers": [(b"authorization", b"Token whatever"), (b"host", b"127.0.0.1")],
        "client": ["127.0.0.1", 5000],
        "server": ["127.0.0.1", 8000],
        "scheme": "http",
        "http_version": "1.1",
    }
    async_to_sync(application)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"detail": "Request body larger than 1000 bytes."}
    assert chunks == [b"}"]  # the rest of the body was never read
