"""End-to-end fixtures: a real daphne serving a throw-away data dir, and headless Chromium.

Reusable by any e2e test:

- ``live_server_proc`` (session scope): a migrated data dir with a staff user, daphne listening
  on a free port. Attributes: ``base_url``, ``ws_url``, ``data_dir``, ``env`` (for child
  processes such as ``manage.py tap`` that must talk to this server), ``username``,
  ``password``; methods ``manage(*args)`` and ``shell(code)`` run ``manage.py`` against the
  same database. ``server_fixture(name, scope, heartbeat_seconds)`` makes another such server
  fixture (``running_server`` is the same as a ``with`` block); daphne is started by
  ``bench/_common.py``'s ``start_daphne``, which the benchmarks use too.
- ``browser`` (session scope): Playwright's Chromium, Debian's ``/usr/bin/chromium``.
- ``logged_in_page``: a fresh browser context logged in as the staff user; page errors and
  console errors are collected in ``page.errors`` so a test can assert there were none.
  ``open_page`` is a function: ``open_page(path)`` takes that page to ``path`` on the live
  server and returns it. ``logged_in(browser, server)``: such a page for a ``with`` block.

Starting taps and finding their sessions: tests/e2e/helpers.py.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench._common import CHROMIUM, CHROMIUM_ARGS, clean_env, free_port, start_daphne, stop_process

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    data_dir: Path
    port: int
    env: dict
    username: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result

    def shell(self, code: str) -> str:
        """Run Python with Django set up against this server's database; returns stdout.

        ``--no-imports`` keeps Django 5.2's "N objects imported automatically" off stdout.
        """
        return self.manage("shell", "--no-imports", "-c", code).stdout

    def start(self) -> None:
        self.process = start_daphne(self.port, self.env, self.data_dir / "daphne.log")

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def running_server(data_dir: Path, **env: str) -> Iterator[LiveServer]:
    """A migrated ``data_dir`` with the staff user and daphne serving it, with ``env`` (settings
    such as STREAMTAP_HEARTBEAT_SECONDS) on top of a clean environment; stopped afterwards."""
    server = LiveServer(
        data_dir=data_dir,
        port=free_port(),
        env=clean_env(STREAMTAP_DATA_DIR=str(data_dir), **env),
    )
    server.env["STREAMTAP_SERVER_URL"] = server.base_url
    server.manage("migrate", "--noinput")
    _create_superuser(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def server_fixture(name: str, scope: str, heartbeat_seconds: int):
    """A fixture ``name`` of ``scope``: a ``running_server`` in a fresh data dir whose taps beat
    every ``heartbeat_seconds`` (a session is lost after three missed beats)."""

    @pytest.fixture(scope=scope, name=name)
    def fixture(tmp_path_factory):
        data_dir = tmp_path_factory.mktemp(f"streamtap-{name}")
        with running_server(data_dir, STREAMTAP_HEARTBEAT_SECONDS=str(heartbeat_seconds)) as server:
            yield server

    return fixture


# The demo world's "running" sessions have no tap: with the default 30 s beat, the
# server would call them lost (sessions/liveness.py) 90 s into the suite.
live_server_proc = server_fixture("live_server_proc", "session", heartbeat_seconds=3600)


@pytest.fixture(scope="session")
def demo(live_server_proc) -> dict:
    """The demo world of tests/e2e/demo_data.py, loaded once: its session ids by role."""
    out = live_server_proc.shell("from tests.e2e.demo_data import load; load()")
    return json.loads(out.strip().splitlines()[-1])


def _create_superuser(server: LiveServer) -> None:
    # The password goes through the environment, never the command line.
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "createsuperuser",
            "--noinput",
            "--username",
            server.username,
            "--email",
            "admin@example.com",
        ],
        cwd=ROOT,
        env={**server.env, "DJANGO_SUPERUSER_PASSWORD": server.password},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


# Package scope: while Playwright's sync API runs, the main thread has a running event loop, and
# Django refuses its database calls there (SynchronousOnlyOperation); pytest-django runs the tests
# without a database last, so tests after tests/e2e (the tap's writer process closing its
# connections before the fork) failed while a session-wide browser was still open.
@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def login(page, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/login/")
    page.fill("input[name=username]", server.username)
    page.fill("input[name=password]", server.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.base_url}/")


def open_logged_in(browser, server: LiveServer, **context_options):
    """A page in a fresh context, logged in; script and console errors land in ``page.errors``."""
    context = browser.new_context(**{"viewport": {"width": 1366, "height": 768}, **context_options})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: page.errors.append(message.text) if message.type == "error" else None,
    )
    login(page, server)
    return page


@contextmanager
def logged_in(browser, server: LiveServer, **context_options) -> Iterator:
    """``open_logged_in`` for a ``with`` block, whose end closes the page's context."""
    page = open_logged_in(browser, server, **context_options)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture
def logged_in_page(browser, live_server_proc):
    with logged_in(browser, live_server_proc) as page:
        yield page


@pytest.fixture
def open_page(logged_in_page, live_server_proc):
    """``open_page(path)``: the logged-in page, gone to ``path`` on the live server."""

    def open_path(path: str):
        logged_in_page.goto(f"{live_server_proc.base_url}{path}")
        return logged_in_page

    return open_path


@pytest.fixture
def anonymous_page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()
