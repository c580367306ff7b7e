"""Refuse oversized and anonymous request bodies before anything holds them.

One rule (``refusal``), applied at two places:

- ``RequestGuardMiddleware``, an ASGI middleware in front of Django: it answers from the
  headers without reading the body, and counts the body while it streams in (servers that
  stream, e.g. uvicorn, then never hold more than the limit);
- ``GuardedWebRequest``, daphne's request class with the same rule at the moment Twisted
  has read the headers. daphne reads a whole body into a file and then queues all of it for
  the application at once (a 200 MB POST cost 200 MB of memory before any ASGI code ran), so
  only there can a refusal come before the body is read. ``install_in_daphne`` swaps it in
  when this process is a daphne server.
"""

from __future__ import annotations

import json
import sys

from django.conf import settings

# Paths under /api/ that are pages (a browser is sent to log in), not API calls.
API_PAGES = ("/api/docs/",)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def max_body_bytes() -> int:
    return int(settings.STREAMTAP["MAX_REQUEST_BYTES"])


def has_credentials(headers: dict[bytes, bytes]) -> bool:
    """A token or a session cookie: whether it is valid is Django's and DRF's to say."""
    if headers.get(b"authorization"):
        return True
    return settings.SESSION_COOKIE_NAME.encode() + b"=" in headers.get(b"cookie", b"")


def refusal(
    method: str, path: str, headers: dict[bytes, bytes], length: int | None
) -> tuple[int, dict, dict] | None:
    """(status, JSON body, extra headers) to answer instead of reading the body, or None."""
    if (
        method not in SAFE_METHODS
        and path.startswith("/api/")
        and not path.startswith(API_PAGES)
        and not has_credentials(headers)
    ):
        # DRF's own answer to an anonymous API request, given before the body is read.
        body = {"detail": "Authentication credentials were not provided."}
        return 401, body, {"WWW-Authenticate": "Token"}
    limit = max_body_bytes()
    if length is not None and length > limit:
        return too_large(limit)
    return None


def too_large(limit: int) -> tuple[int, dict, dict]:
    return 413, {"detail": f"Request body larger than {limit} bytes."}, {}


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    try:
        return int(headers[b"content-length"])
    except (KeyError, ValueError):
        return None


class RequestGuardMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        refused = refusal(scope["method"], scope["path"], headers, _content_length(headers))
        if refused:
            return await _send_json(send, *refused)
        limit = max_body_bytes()
        received = 0
        overflowed = False

        async def counted_receive():
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops reading at a disconnect and answers nothing; we answer.
                    overflowed = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted_receive, send)
        if overflowed:
            await _send_json(send, *too_large(limit))


async def _send_json(send, status: int, body: dict, extra: dict) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


REASONS = {401: b"Unauthorized", 413: b"Content Too Large"}


def install_in_daphne() -> None:
    """Make daphne (when it is what runs this process) apply ``refusal`` to headers."""
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None or "daphne.server" not in sys.modules:
        return
    if getattr(http_protocol.WebRequest, "streamtap_guarded", False):
        return

    class GuardedWebRequest(http_protocol.WebRequest):
        streamtap_guarded = True
        refused = False
        body_bytes = 0

        def gotLength(self, length):
            channel = self.channel
            headers = {
                name.lower(): b",".join(values)
                for name, values in self.requestHeaders.getAllRawHeaders()
            }
            if headers.get(b"upgrade", b"").lower() != b"websocket":
                method = (getattr(channel, "_command", b"") or b"").decode("latin-1")
                path = (getattr(channel, "_path", b"") or b"").split(b"?")[0]
                answer = refusal(method, path.decode("latin-1"), headers, length)
                if answer:
                    return self.refuse(*answer)
            super().gotLength(length)

        def handleContentChunk(self, data):
            if self.refused:
                return
            self.body_bytes += len(data)
            if self.body_bytes > max_body_bytes():  # a chunked body without a length
                return self.refuse(*too_large(max_body_bytes()))
            super().handleContentChunk(data)

        def refuse(self, status: int, body: dict, extra: dict) -> None:
            # Answer, stop reading and close: the rest of the body is never read.
            self.refused = True
            content = json.dumps(body).encode()
            head = [
                b"HTTP/1.1 %d %s" % (status, REASONS.get(status, b"Refused")),
                b"Content-Type: application/json",
                b"Content-Length: %d" % len(content),
                b"Connection: close",
            ]
            head += [f"{k}: {v}".encode() for k, v in extra.items()]
            transport = self.channel.transport
            transport.write(b"\r\n".join(head) + b"\r\n\r\n" + content)
            transport.loseConnection()

        def process(self):
            if not self.refused:
                return super().process()

    http_protocol.WebRequest = GuardedWebRequest
