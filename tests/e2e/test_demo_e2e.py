"""`make run PORT=…` as a new user runs it: the demo's question is the first thing the overview
shows after login, and it waits for the answer from the browser."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from tests.e2e.conftest import ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class Output:
    """A child's output as it comes (a question has no line end yet), read in a thread so the
    test can wait for a pattern."""

    def __init__(self, stream):
        self.text = ""
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream.fileno(),), daemon=True).start()

    def _read(self, fd: int) -> None:
        while chunk := os.read(fd, 65536):
            with self._changed:
                self.text += chunk.decode(errors="replace")
                self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (match := re.search(pattern, self.text)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} in:\n{self.text}")
                self._changed.wait(left)
            return match


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "STREAMTAP_REDIS_URL", "DJANGO_SECRET_KEY", "MAKEFLAGS")
    }
    env.update(STREAMTAP_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,  # open, and not a terminal, as from a script
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = Output(process.stdout)
    yield port, output
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def test_make_run_on_another_port_shows_the_demo_prompt_first_and_waits_for_the_browser(
    browser, make_run
):
    port, output = make_run
    base = f"http://127.0.0.1:{port}"
    output.wait_for(rf"streamtap is serving http://127\.0\.0\.1:{port}/")
    password = output.wait_for(r"Created user 'admin' with password: (\S+)").group(1)
    with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:
        assert response.status == 200
    output.wait_for(r"Commit the fix")  # the demo asks its question…
    asked = time.monotonic()

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # …and it is the first thing on the overview, under the title.
    waiting = page.locator("#waiting-prompts")
    waiting.wait_for()
    first_panel = page.evaluate("document.querySelector('main .page-head').nextElementSibling.id")
    assert first_panel == "waiting-prompts"
    assert "Commit the fix" in waiting.inner_text()

    # The demo no longer gives up after a few seconds: it still waits (the old one said "no"
    # by itself within 4 s of asking).
    page.wait_for_timeout(max(0, 6000 - (time.monotonic() - asked) * 1000))
    assert "assuming no" not in output.text

    waiting.locator("a", has_text="Answer").click()
    page.locator(".prompt-card button", has_text="Deny").click()
    page.wait_for_selector(".prompt-outcome")
    output.wait_for(r"Left the change uncommitted\.")
    page.wait_for_selector("#session-status:has-text('completed')", timeout=15000)
    context.close()
