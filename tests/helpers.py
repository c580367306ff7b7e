"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import threading
import time


def run_async(factory):
    """Run ``factory()``'s coroutine to completion on a fresh event loop in its own thread.

    A session-scoped Playwright browser (the e2e fixtures) owns an event loop on the main
    thread, and asyncio.run() refuses to start inside a running loop.
    """
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(factory())
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def wait_for(predicate, timeout: float = 45.0, what: str = "condition", interval: float = 0.1):
    """``predicate()``'s first true value, polled until ``timeout`` seconds have passed: tests
    wait on what they expect, never on a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)
