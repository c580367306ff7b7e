"""Plain HTTP against the test daphne: urllib for requests, a raw socket for big bodies."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request


def post_json(server, path: str, body, *, token: str | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(server.base_url + path, data, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_big(server, head: str, total: int, chunked: bool = False) -> tuple[bytes, float, int]:
    """An eager client: headers, then ``total`` bytes of body pushed without waiting, while the
    answer is read. (the answer, seconds until it came, body bytes the server let in)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    started = time.monotonic()
    sock.sendall(head.encode())
    sent = 0

    def push() -> None:
        nonlocal sent
        block = b"x" * (1 << 20)
        if chunked:
            block = b"%x\r\n%s\r\n" % (len(block), block)
        try:
            while sent < total:
                sent += sock.send(block)
        except OSError:  # reset or broken pipe: the server closed the connection
            pass

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    response = b""
    try:
        while chunk := sock.recv(65536):
            response += chunk
    except OSError:
        pass
    seconds = time.monotonic() - started
    try:
        sock.shutdown(socket.SHUT_RDWR)  # stops the pusher if it is still sending
    except OSError:  # already reset by the server
        pass
    pusher.join(30)
    sock.close()
    return response, seconds, sent


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response else 0


def body_of(response: bytes) -> dict:
    return json.loads(response.split(b"\r\n\r\n", 1)[1] or b"{}")
