"""Row 4 of issue 15: a page on another port (any dev server on this machine) cannot open
the websockets with the user's cookie. Attacked as it was: real daphne, a real websocket
client sending the browser's Origin header and the logged-in cookie."""

from __future__ import annotations

import pytest

from tests.factories import make_user

from .websocket_clients import handshake_refused, local_tap_headers, session_cookie

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def foreign_origins(server) -> list[str]:
    return [
        f"http://127.0.0.1:{server.port + 1}",  # the same host, another port
        "http://127.0.0.1:5173",
        "http://127.0.0.1",  # the default port is another port too
        f"https://127.0.0.1:{server.port}",  # another scheme
        f"http://localhost:{server.port}",  # another host name (another site to a browser)
        "http://evil.example",
        "null",
    ]


def test_a_page_on_another_port_cannot_open_the_live_socket(daphne):
    cookie = {"Cookie": session_cookie(make_user("watcher", staff=True))}
    assert not handshake_refused(daphne, "/ws/live/", headers=cookie)  # the site's own page
    for origin in foreign_origins(daphne):
        assert handshake_refused(daphne, "/ws/live/", origin=origin, headers=cookie), origin


def test_a_page_on_another_port_cannot_open_the_ingest_socket(daphne):
    tap = local_tap_headers(daphne)
    assert not handshake_refused(daphne, "/ws/ingest/", headers=tap)
    for origin in foreign_origins(daphne):
        assert handshake_refused(daphne, "/ws/ingest/", origin=origin, headers=tap), origin
