"""The live bus's vocabulary, shared by the tap's publisher, the server's consumers and pages.

Group names, the wire shape of an event, ``split_frame``, ``session_info`` and the shared
record of the highest seq announced per session. The tap's publisher and its transports are in
``sessions/tap/publisher.py`` (the old names here are deprecated aliases for one release).

See docs/architecture.md ("The live bus"): a frame may reach a browser before its batch
commits; browsers treat the database as the truth and the bus as a hint.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

from extraction.event_shape import event_json

log = logging.getLogger(__name__)

ALL_GROUP = "st.all"
# Signs the local tap's ingest header (sessions/tap/publisher.py) and is checked by the server's
# ingest consumer (sessions/ingest.py).
INGEST_SALT = "streamtap.ingest"


def group_for_session(session_pk: int) -> str:
    return f"st.session.{int(session_pk)}"


def event_to_dict(event) -> dict:
    """An ExtractionEvent row in the live/API wire shape (identity: session + seq)."""
    return event_json(event, session=event.session.session_id)


def event_row_to_wire(row: dict, session_id: str | None) -> dict:
    """A tap's event row (as handed to the writer) in the live wire shape."""
    return event_json(row, session=session_id)


def session_info(session) -> dict:
    return {
        "status": session.status,
        "agent_name": session.agent_name,
        "command_line": session.command_line,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "exit_code": session.exit_code,
        "total_lines_processed": session.total_lines_processed,
        "total_extraction_events": session.total_extraction_events,
        "event_counts": session.event_counts,
    }


def split_frame(frame: dict) -> tuple[dict, dict]:
    """The same frame for the all-sessions group (no terminal output) and the session's group."""
    everyone = {k: v for k, v in frame.items() if k not in ("output", "output_gap")}
    return everyone, frame


class FramePacer:
    """When the next frame may go out: a token bucket of ``burst`` frames, refilled at one frame
    per ``window`` seconds.

    A lone event goes out at once even right after its chunk's output frame (one frame per
    window held it back a whole window: ~60 ms at 10 events/s), while a session printing
    thousands of events a second still costs one frame per window. Letting 3 frames through per
    window instead made the page's own work the bottleneck at 1,000 events/s (bench_live's p95
    200-330 -> 400-420 ms, interleaved). Used by the tap's publisher and each browser's consumer.
    """

    def __init__(self, window: float, burst: int = 2):
        self.window = window
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None

    def _refill(self, now: float) -> None:
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) / self.window)
        self._at = now

    def wait(self, now: float) -> float:
        """Seconds to wait before the next frame (0: at once)."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) * self.window

    def sent(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1


# ---------------------------------------------------------------------------------------------
# The highest seq announced per session, shared by every server worker
# ---------------------------------------------------------------------------------------------

# Django's cache alias "live" (streamtap_site/settings.py): Redis when STREAMTAP_REDIS_URL is
# set, so every worker and a tap publishing straight into Redis share one record; else this
# one server process's memory, where the ingest consumer writes it. A day is longer than any
# batch takes to commit; entries older than that are forgotten (and LocMemCache is bounded).
ANNOUNCED_CACHE = "live"
ANNOUNCED_SECONDS = 24 * 3600


def merge_gap(gap: list | None, more: list) -> list:
    """Two ``output_gap`` ranges ``[first oseq, last oseq]`` as one (the first may be None)."""
    return more if not gap else [min(gap[0], more[0]), max(gap[1], more[1])]


def _announced_key(session_pk: int, session_id: str) -> str:
    # The id too: a database made again (a test run, a restore) numbers its sessions from 1.
    return f"announced-seq:{int(session_pk)}:{session_id}"


def top_seq(frame: dict) -> int:
    """The highest seq a frame announces: its events' and its session_info's ``last_seq``."""
    seqs = [int(event["seq"]) for event in frame.get("events") or ()]
    info = frame.get("session_info") or {}
    return max([*seqs, int(info.get("last_seq") or 0)])


def note_announced(session_pk: int, session_id: str, seq: int) -> None:
    """Remember that seqs up to ``seq`` of the session went out live.

    One tap publishes a session and its seqs only grow, so read-then-write needs no lock. A
    cache that is away costs pages the hint, not the publisher its thread.
    """
    if seq <= 0:
        return
    from django.core.cache import caches

    try:
        cache = caches[ANNOUNCED_CACHE]
        key = _announced_key(session_pk, session_id)
        if seq > (cache.get(key) or 0):
            cache.set(key, seq, ANNOUNCED_SECONDS)
    except Exception as exc:
        log.info("streamtap: could not note the announced seq: %s", exc)


def announced_seq(session_pk: int, session_id: str) -> int:
    """The highest seq of the session announced live by any worker or tap (0: none known)."""
    from django.core.cache import caches

    try:
        return int(caches[ANNOUNCED_CACHE].get(_announced_key(session_pk, session_id)) or 0)
    except Exception as exc:
        log.info("streamtap: could not read the announced seq: %s", exc)
        return 0


DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
SERVER_FILE = "server.json"


def announce_server(url: str) -> Path:
    """Note in the data directory where this machine's server listens, for taps to find."""
    from django.conf import settings

    path = Path(settings.DATA_DIR) / SERVER_FILE
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    scratch.replace(path)
    return path


def withdraw_server(path: Path) -> None:
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def server_url() -> str:
    """Where a tap publishes: STREAMTAP_SERVER_URL, else the server `manage.py serve` runs on
    this data directory (whatever its port), else the default address."""
    from django.conf import settings

    if settings.STREAMTAP["SERVER_URL"]:
        return settings.STREAMTAP["SERVER_URL"]
    try:
        announced = json.loads((Path(settings.DATA_DIR) / SERVER_FILE).read_text())
        url = str(announced["url"])
        os.kill(int(announced["pid"]), 0)  # still running (a crashed server leaves the file)
    except PermissionError:  # running, as another user
        return url
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_SERVER_URL
    return url


# ---------------------------------------------------------------------------------------------
# Deprecated: the tap's publisher lived here (now sessions/tap/publisher.py); one release.
# ---------------------------------------------------------------------------------------------

_MOVED_TO_TAP_PUBLISHER = {
    "COALESCE_SECONDS",
    "MAX_QUEUED_EVENTS",
    "MAX_OUTPUT_PER_FRAME",
    "RECONNECT_SECONDS",
    "ingest_auth_headers",
    "LivePublisher",
    "WebsocketTransport",
    "ChannelLayerTransport",
    "NullTransport",
    "default_transport",
}


def __getattr__(name: str):
    if name in _MOVED_TO_TAP_PUBLISHER:
        warnings.warn(
            f"sessions.live.{name} moved to sessions.tap.publisher.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        from .tap import publisher

        return getattr(publisher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
