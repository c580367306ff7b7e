"""End-to-end fixtures: a real daphne serving a throw-away data dir, and headless Chromium.

Reusable by any e2e test:

- ``live_server_proc`` (session scope): a migrated data dir with a staff user, daphne listening
  on a free port. Attributes: ``base_url``, ``ws_url``, ``data_dir``, ``env`` (for child
  processes such as ``manage.py tap`` that must talk to this server), ``username``,
  ``password``; methods ``manage(*args)`` and ``shell(code)`` run ``manage.py`` against the
  same database.
- ``browser`` (session scope): Playwright's Chromium, Debian's ``/usr/bin/chromium``.
- ``logged_in_page``: a fresh browser context logged in as the staff user; page errors and
  console errors are collected in ``page.errors`` so a test can assert there were none.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")
CHROMIUM = os.environ.get("STREAMTAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        log = open(self.data_dir / "daphne.log", "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                str(DAPHNE),
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "streamtap_site.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited:\n{(self.data_dir / 'daphne.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/login/", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError("daphne did not answer within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture(scope="session")
def live_server_proc(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("streamtap-e2e")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "STREAMTAP_REDIS_URL", "DJANGO_SECRET_KEY")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="streamtap_site.settings",
        STREAMTAP_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        # The demo world's "running" sessions have no tap: with the default 30 s beat, the
        # server would call them lost (sessions/liveness.py) 90 s into the suite.
        STREAMTAP_HEARTBEAT_SECONDS="3600",
    )
    server = LiveServer(data_dir=data_dir, port=free_port(), env=env)
    env["STREAMTAP_SERVER_URL"] = server.base_url
    server.manage("migrate", "--noinput")
    _create_superuser(server)
    server.start()
    yield server
    server.stop()


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


@pytest.fixture
def logged_in_page(browser, live_server_proc):
    page = open_logged_in(browser, live_server_proc)
    yield page
    page.context.close()


@pytest.fixture
def anonymous_page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()
