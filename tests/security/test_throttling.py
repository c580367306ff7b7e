"""Row 14 of issue 15: guessing passwords and API tokens is throttled, nobody locked out for good.

Attacked as it was: a real daphne, the real login forms (CSRF and all), 30 attempts in a row.
"Another client" connects from another loopback address (127.0.0.2).
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse

import pytest
from django.conf import global_settings

from tests.factories import make_token, make_user
from tests.helpers import wait_for

from .conftest import start_daphne
from .websocket_clients import handshake_refused, token_headers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_user(settings, transactional_db):
    # The server hashes with Django's default hashers (the tests' fast MD5 is not one of them).
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    user = make_user("admin", staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


class Browser:
    """A client at one source address, with its own cookies (http.client: it can bind one)."""

    def __init__(self, server, source: str = "127.0.0.1"):
        self.server = server
        self.source = source
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.server.port, timeout=30, source_address=(self.source, 0)
        )
        headers = {"Host": f"127.0.0.1:{self.server.port}", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        connection.close()
        return response.status, content

    def log_in(self, password: str, path: str = "/login/") -> int:
        status, page = self.request("GET", path)
        if status == 429:
            return status
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": "admin", "password": password, "csrfmiddlewaretoken": token.decode()}
        ).encode()
        status, _ = self.request(
            "POST",
            path,
            form,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.server.port}{path}",
            },
        )
        return status


# One server for the module, which counts per address: each attack comes from its own.
@pytest.mark.parametrize(
    ("path", "attacker_at"), [("/login/", "127.0.0.3"), ("/admin/login/", "127.0.0.4")]
)
def test_thirty_wrong_passwords_in_a_row_are_throttled(daphne, admin_user, path, attacker_at):
    attacker = Browser(daphne, attacker_at)
    answers = [attacker.log_in(f"guess-{n}", path) for n in range(30)]
    assert answers[:10] == [200] * 10  # the form again: wrong password
    assert answers[10:] == [429] * 20
    assert attacker.log_in(PASSWORD, path) == 429  # throttled means not even the right one
    # Someone else, at another address, logs in as usual.
    assert Browser(daphne, "127.0.0.2").log_in(PASSWORD, path) == 302


def test_thirty_wrong_api_tokens_in_a_row_are_throttled(daphne, admin_user):
    token = make_token(admin_user)

    def get(source: str, key: str) -> int:
        return Browser(daphne, source).request(
            "GET", "/api/query/sessions", headers={"Authorization": f"Token {key}"}
        )[0]

    answers = [get("127.0.0.5", f"{n:040d}") for n in range(30)]
    assert answers[:20] == [401] * 20
    assert answers[20:] == [429] * 10
    status, body = Browser(daphne, "127.0.0.5").request(
        "GET", "/api/query/sessions", headers={"Authorization": "Token nope"}
    )
    assert status == 429 and "try again in" in json.loads(body)["detail"]
    assert get("127.0.0.2", token) == 200


def test_thirty_wrong_tokens_on_the_ingest_websocket_are_throttled(daphne, tap_token):
    def refused(source: str, key: str) -> bool:
        return handshake_refused(daphne, "/ws/ingest/", headers=token_headers(key), source=source)

    assert all(refused("127.0.0.7", f"{n:040d}") for n in range(30))
    # Past 20 failures even the right token is refused from that address, not from another.
    assert refused("127.0.0.7", tap_token)
    assert not refused("127.0.0.8", tap_token)


def test_a_throttled_client_may_log_in_again_once_the_window_has_passed(tmp_path, admin_user):
    server = start_daphne(tmp_path / "short-window", STREAMTAP_BAD_LOGIN_RATE="3/8s")
    try:
        user = Browser(server)
        assert [user.log_in("typo") for _ in range(4)] == [200, 200, 200, 429]
        wait_for(lambda: user.log_in(PASSWORD) == 302, timeout=30, what="the window to pass")
    finally:
        server.stop()
