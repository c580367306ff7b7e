"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import threading


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
