"""Security, one test per promise: login everywhere, CSRF, websocket origin and auth, production
settings, default bind, no secret in the repository, secrets redacted across output chunks."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from extraction.models import CodeBlock, ExtractionEvent
from sessions.consumers import CLOSE_UNAUTHENTICATED
from sessions.live import INGEST_SALT
from sessions.models import ProcessSession, ProcessStateChange
from sessions.recording import iter_events
from streamtap_site.asgi import application
from tests.factories import make_code_block, make_event, make_session, make_token, make_user
from tests.processes import run_manage
from tests.sessions.conftest import py, run_tap
from tests.sessions.conftest import tap_env as tap_env  # noqa: F401 (fixture, used by name)

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")

# ---------------------------------------------------------------------------------------------
# The URL map, read from the resolver so a page added later is covered without editing this file.


def _segments(patterns=None, prefix=()):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _segments(entry.url_patterns, (*prefix, entry.pattern))
        elif isinstance(entry, URLPattern):
            yield (*prefix, entry.pattern)


def _parameters(pattern) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters is not None:  # a path() route
        return list(converters)
    return list(pattern.regex.groupindex) + ["?"] * (
        pattern.regex.groups - len(pattern.regex.groupindex)
    )


def _route(segments, values: dict[str, str]) -> str | None:
    """The URL of a pattern chain with parameters filled from ``values`` (None if one is unknown)."""
    url = ""
    for segment in segments:
        text = str(segment).lstrip("^").rstrip("$")
        for name in _parameters(segment):
            if name not in values:
                return None
            text = re.sub(rf"<(?:\w+:)?{name}>", values[name], text)
        if re.search(r"[(<\\]", text):
            return None  # a regex we cannot fill in
        url += text
    return "/" + url


def urls(*, api: bool, values: dict[str, str] | None = None, with_params: bool = False):
    found = []
    for segments in _segments():
        names = [n for s in segments for n in _parameters(s)]
        if bool(names) != with_params:
            continue
        url = _route(segments, values or {})
        if url and url.startswith("/api/") == api:
            found.append(url)
    return sorted(set(found))


PUBLIC_PAGES = {"/login/", "/admin/login/"}
# Log-out pages take POST only (a GET must not log anyone out); an anonymous GET gets no content.
POST_ONLY_PAGES = {"/logout/"}
# The site's icon (a redirect to a static file): the login page shows it too.
PUBLIC_REDIRECTS = {"/favicon.ico"}
# The Swagger UI is a page under /api/: a browser without a session is sent to log in.
API_PAGES = {"/api/docs/"}


def assert_sent_to_login(response, url: str) -> None:
    assert response.status_code == 302, (url, response.status_code)
    target = response["Location"]
    assert target.startswith(("/login/?next=", "/admin/login/?next=")), (url, target)


@pytest.fixture
def world(db):
    session = make_session("codex", session_id="codex-20261126-101500")
    event = make_event(session, risk_level="high")
    block = make_code_block()
    return {
        "session": session,
        "event": event,
        "block": block,
        "values": {
            "session_id": session.session_id,
            "name": session.agent_name,
            "sha256": block.sha256,
            "id": str(event.pk),
            "seq": str(event.seq),
            "object_id": str(session.pk),
        },
    }


# ---------------------------------------------------------------------------------------------
# Pages


def test_the_url_map_is_enumerated():
    pages = urls(api=False)
    # A guard against a resolver walk that silently finds nothing.
    assert {"/", "/sessions/", "/events/", "/code-blocks/", "/admin/"} <= set(pages)
    assert "/api/query/sessions" in urls(api=True)


@pytest.mark.django_db
def test_every_page_without_parameters_needs_a_login():
    client = Client()
    for url in urls(api=False):
        response = client.get(url)
        if url in PUBLIC_PAGES:
            assert response.status_code == 200, url
            assert b'name="password"' in response.content
        elif url in PUBLIC_REDIRECTS:
            assert response.status_code == 301, url
            assert "/login/" not in response["Location"]
        elif url in POST_ONLY_PAGES:
            assert response.status_code in (302, 405), (url, response.status_code)
            if response.status_code == 302:
                assert_sent_to_login(response, url)
        else:
            assert_sent_to_login(response, url)


def test_every_page_of_a_session_needs_a_login(world):
    client = Client()
    pages = urls(api=False, values=world["values"], with_params=True)
    session_pages = [u for u in pages if world["session"].session_id in u]
    assert len(session_pages) >= 3, pages  # detail, recording, replay at least
    for url in pages:
        assert_sent_to_login(client.get(url), url)


def test_a_logged_in_user_sees_the_pages(world, owner):
    # The other side of the test above: the redirects are for anonymous users only.
    client = Client()
    client.force_login(owner)
    for url in [
        "/",
        "/sessions/",
        "/events/",
        "/code-blocks/",
        world["session"].get_absolute_url(),
    ]:
        assert client.get(url).status_code == 200, url


# ---------------------------------------------------------------------------------------------
# API


def test_every_api_endpoint_is_a_401_for_anonymous_clients(world):
    endpoints = urls(api=True) + urls(api=True, values=world["values"], with_params=True)
    endpoints = [u for u in endpoints if u not in API_PAGES]
    assert len(endpoints) >= 12, endpoints
    anonymous = APIClient()
    wrong_token = APIClient()
    wrong_token.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    wrong = []
    for url in endpoints:
        for name, client in (("anonymous", anonymous), ("wrong token", wrong_token)):
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert b"boom" not in response.content, url  # no event content leaks
                if response.status_code != 401 or response.get("WWW-Authenticate") != "Token":
                    wrong.append((method.upper(), url, name, response.status_code))
    assert not wrong
    for url in API_PAGES:
        assert_sent_to_login(anonymous.get(url), url)


# ---------------------------------------------------------------------------------------------
# Websockets


def run(coro_fn):
    return async_to_sync(coro_fn)()


def login_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def refused(path: str, headers: list[tuple[bytes, bytes]], close_code=None) -> bool:
    """True when the socket is denied at the handshake or closed before any data frame."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    if not connected:
        return True
    output = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    return output["type"] == "websocket.close" and output.get("code") == close_code


async def accepted(path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    if connected:
        # Still open: nothing (no close frame) comes unasked.
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
def test_live_websocket_refuses_anonymous_users():
    async def body():
        assert await refused("/ws/live/", [ORIGIN, HOST], close_code=CLOSE_UNAUTHENTICATED)

    run(body)


@pytest.mark.django_db(transaction=True)
def test_live_websocket_refuses_foreign_or_missing_origins_even_logged_in():
    cookie = (b"cookie", login_cookie(make_user("watcher")))

    async def body():
        assert await accepted("/ws/live/", [ORIGIN, HOST, cookie])
        for origin in (
            b"http://evil.example",
            b"null",
            b"http://127.0.0.1.evil.example",
            b"http://127.0.0.1:5173",  # another port: another site
            b"https://127.0.0.1",  # another scheme
        ):
            assert await refused("/ws/live/", [(b"origin", origin), HOST, cookie]), origin
        assert await refused("/ws/live/", [HOST, cookie])

    run(body)


@pytest.mark.django_db(transaction=True)
def test_ingest_websocket_needs_a_valid_signature_or_token():
    token = make_token(make_user("tap-host", staff=True))
    not_allowed_token = make_token(make_user("olivia"))  # may read, not ingest
    inactive_token = make_token(make_user("gone", is_active=False))
    good_signature = signing.dumps({"purpose": "ingest"}, salt=INGEST_SALT)
    other_key = signing.dumps(
        {"purpose": "ingest"}, key="another-installation-" + secrets.token_hex(16), salt=INGEST_SALT
    )
    other_salt = signing.dumps({"purpose": "ingest"}, salt="streamtap.something-else")
    with mock.patch("time.time", return_value=time.time() - 3600):
        expired = signing.dumps({"purpose": "ingest"}, salt=INGEST_SALT)
    cookie = (b"cookie", login_cookie(make_user("browser-user")))

    def headers(*extra):
        return [ORIGIN, HOST, *extra]

    async def body():
        assert await refused("/ws/ingest/", headers(), close_code=4403)
        for bad in (other_key, other_salt, expired, good_signature[:-2] + "xx", "garbage"):
            assert await refused(
                "/ws/ingest/", headers((b"x-streamtap-ingest", bad.encode())), close_code=4403
            ), bad
        for bad in (
            "Token " + "0" * 40,
            f"Token {inactive_token}",
            f"Token {not_allowed_token}",
            f"Bearer {token}",
            token,
        ):
            assert await refused(
                "/ws/ingest/", headers((b"authorization", bad.encode())), close_code=4403
            ), bad
        # A browser's login is not a tap's credential.
        assert await refused("/ws/ingest/", headers(cookie), close_code=4403)
        # The other side: what a tap really sends is accepted.
        assert await accepted(
            "/ws/ingest/", headers((b"x-streamtap-ingest", good_signature.encode()))
        )
        assert await accepted("/ws/ingest/", headers((b"authorization", f"Token {token}".encode())))

    run(body)


# ---------------------------------------------------------------------------------------------
# CSRF


def csrf_token(client: Client) -> str:
    client.get("/login/")
    return client.cookies[settings.CSRF_COOKIE_NAME].value


@pytest.mark.django_db
def test_login_form_needs_the_csrf_token():
    make_user("olivia")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "olivia", "password": "pw"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    token = csrf_token(client)
    response = client.post(
        "/login/", {"username": "olivia", "password": "pw", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.django_db
def test_logout_needs_the_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    token = csrf_token(client)
    assert client.post("/logout/").status_code == 403
    assert client.get("/").status_code == 200  # still logged in
    assert client.post("/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert_sent_to_login(client.get("/"), "/")


def test_admin_review_action_needs_the_csrf_token(world, reviewer):
    event = world["event"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    url = "/admin/extraction/extractionevent/"
    form = {"action": "mark_confirmed", "_selected_action": [event.pk], "index": 0}
    assert client.post(url, form).status_code == 403
    assert ExtractionEvent.objects.get(pk=event.pk).review_status == "pending"
    response = client.post(url, {**form, "csrfmiddlewaretoken": csrf_token(client)})
    assert response.status_code == 302
    assert ExtractionEvent.objects.get(pk=event.pk).review_status == "confirmed"


def test_api_review_with_a_session_login_needs_the_csrf_token(world, reviewer):
    event = world["event"]
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    url = f"/api/extractions/{event.pk}/review"
    response = client.post(url, {"decision": "confirmed"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert ExtractionEvent.objects.get(pk=event.pk).review_status == "pending"
    token = csrf_token(client)
    response = client.post(url, {"decision": "confirmed"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert ExtractionEvent.objects.get(pk=event.pk).review_status == "confirmed"


# ---------------------------------------------------------------------------------------------
# Deployment


def manage(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_manage(env, *args, timeout=timeout, text=True)


def test_production_settings_pass_check_deploy(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STREAMTAP_"))}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        STREAMTAP_SECURE="1",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="streamtap.example.com",
        STREAMTAP_DATA_DIR=str(tmp_path),
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr.upper()


def test_the_server_binds_to_127_0_0_1_by_default(monkeypatch):
    from sessions.management.commands.serve import Command

    monkeypatch.delenv("STREAMTAP_HOST", raising=False)
    options = Command().create_parser("manage.py", "serve").parse_args([])
    assert options.host == "127.0.0.1"
    env = {k: v for k, v in os.environ.items() if k != "STREAMTAP_HOST"}
    help_text = manage("serve", "--help", env=env).stdout
    assert "127.0.0.1" in help_text
    source = (ROOT / "sessions/management/commands/serve.py").read_text()
    assert "0.0.0.0" not in source
    assert (
        '"-b",\n                options["host"]' in source
    )  # daphne gets the option, nothing else


# ---------------------------------------------------------------------------------------------
# Secrets


SECRET_PATTERNS = {
    "openai": re.compile(r"sk-[A-Za-z0-9]{20,}"),
    "anthropic": re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"),
    "aws": re.compile(r"AKIA[0-9A-Z]{16}"),
    "github": re.compile(r"ghp_[A-Za-z0-9]{36}"),
    "github_pat": re.compile(r"github_pat_[A-Za-z0-9_]{60,}"),
    "slack": re.compile(r"xox[baprs]-[0-9]{8,}-[0-9A-Za-z-]{20,}"),
    "private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]{200,}"),
}
# Obvious fixtures: AWS's documented example key, alphabet runs, long repeats.
FIXTURE_LOOKS = re.compile(r"EXAMPLE|abcdefgh|ABCDEFGH|0123456|1234567|(.)\1{7,}")


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    return [name for name in out.decode().split("\0") if name]


def test_no_secret_key_or_database_is_tracked():
    names = tracked_files()
    assert len(names) > 50
    assert not [n for n in names if Path(n).name == ".secret_key"]
    assert not [n for n in names if re.search(r"\.sqlite3(-wal|-shm|-journal)?$", n)]
    assert not [n for n in names if Path(n).name in (".env", "id_rsa", "id_ed25519")]


def test_no_credential_is_committed():
    found = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (images, fonts)
        text = data.decode("utf-8", "replace")
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                if not FIXTURE_LOOKS.search(match.group(0)):
                    found.append((name, kind, match.group(0)[:12] + "…"))
    assert not found


def stored_text() -> str:
    """Every row streamtap stored, as one string."""
    rows = []
    for model in (ProcessSession, ProcessStateChange, ExtractionEvent, CodeBlock):
        rows.extend(model.objects.values())
    return json.dumps(rows, default=str, ensure_ascii=False)


@pytest.mark.parametrize("mode", ["--pipe", "--pty"])
def test_a_secret_split_across_output_chunks_is_redacted(tap_env, mode):  # noqa: F811
    # The child builds the key from hex so that the tap's own argv (stored as the command line)
    # does not hold it; it prints the prefix, flushes, waits, then prints the rest.
    rest = "api03-" + "Zq7Xw2Lm9Pk4Rt8Vb1Nc6Hy3Jd5Fg0Ts-Q_u2"
    secret = "sk-ant-" + rest
    code = (
        "import sys, time\n"
        "sys.stdout.write('ERROR: authentication failed for key sk-' + 'ant-')\n"
        "sys.stdout.flush()\n"
        "time.sleep(0.2)\n"
        f"sys.stdout.write(bytes.fromhex('{rest.encode().hex()}').decode() + ' (expired)\\n')\n"
        "sys.stdout.flush()\n"
    )
    result = run_tap(tap_env, mode, "--", *py(code), stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert secret.encode() in result.stdout  # the user's own terminal shows what was printed

    session = ProcessSession.objects.get()
    recording = Path(session.recording_path).read_text()
    outputs = [e.data for e in iter_events(session.recording_path) if e.code == "o"]
    assert len(outputs) >= 2, outputs  # it did arrive in two chunks
    assert "REDACTED" in recording
    event = session.events.get()
    assert "REDACTED" in event.content
    replayed = "".join(outputs)  # what a replay or a live browser shows
    for where, text in (("recording", recording), ("replay", replayed), ("db", stored_text())):
        assert secret not in text, where
        assert rest[6:] not in text, where  # not even the part after the prefix
