"""The server process's long-lived objects, out of the cyclic garbage collector's way."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Load what requests use, then freeze everything alive (``gc.freeze``).

    Django, DRF, the URLconf and the views live as long as the process, yet each full (oldest
    generation) collection walked all of them: a 73 ms pause every few dozen API requests at
    1M events (bench/bench_api.py, `?q=deadlock&limit=500`), 20 ms once frozen. Call once the
    process is set up and before it serves; bench/bench_api.py calls it as the server does.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now, not on a request
    gc.collect()
    gc.freeze()
