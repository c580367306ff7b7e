"""The tap's live publisher and its transports (runs in the tap process, on its own thread).

The bus's vocabulary (group names, the wire shape, ``split_frame``, the record of announced
seqs) is in ``sessions/live.py``, shared with the server's consumers. The one order, from the
tap's rows to a page (docs/architecture.md, "The live bus"): the router hands rows to the
writer's queue, then to this publisher, which sends them at once. A frame may reach a browser
before its batch commits; the database is the truth, and a page that sees a gap, or a
``session_info.last_seq`` above what it has, resyncs from the database until the batch lands.
This publisher is the only one of a tap's events, local and remote taps alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
import threading
import time
from collections import deque

from ..live import (
    ALL_GROUP,
    INGEST_SALT,
    FramePacer,
    event_row_to_wire,
    group_for_session,
    merge_gap,
    note_announced,
    split_frame,
    top_seq,
)

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.05  # busy: a few frames per 50 ms (FramePacer); quiet: at once
MAX_QUEUED_EVENTS = 20_000
MAX_OUTPUT_PER_FRAME = 256 * 1024
RECONNECT_SECONDS = 2.0
# A socket the far end dropped takes frames into the kernel's buffer all the same: once the
# session has been quiet this long after a frame, the transport confirms the server got it
# (a websocket ping's pong follows every message before it), or the frame counts as lost.
CONFIRM_AFTER_SECONDS = 0.5
CONFIRM_TIMEOUT_SECONDS = 2.0
# daphne drops a websocket whose message exceeds 1 MiB (its --websocket_max_message_size): a
# busy moment's frame goes to the server's ingest socket in messages of at most this.
MAX_MESSAGE_BYTES = 512 * 1024


def ingest_auth_headers(api_token: str = "") -> dict:
    """Headers that authenticate a tap to the server's ingest websocket.

    A DRF token for taps on other hosts; otherwise a short-lived value signed with the secret key
    file this machine's server also reads (no credential to configure for the default setup).
    """
    if api_token:
        return {"Authorization": f"Token {api_token}"}
    from django.core import signing

    return {"X-Streamtap-Ingest": signing.dumps({"purpose": "ingest"}, salt=INGEST_SALT)}


class LivePublisher(threading.Thread):
    """Coalescing, never-blocking publisher of a tap's events, states and output.

    The tap calls ``event()``, ``state()`` and ``output()``: each appends to a bounded buffer and
    wakes this thread. Frames go out at once when the session is quiet and a few per
    ``COALESCE_SECONDS`` when it is busy (``FramePacer``). When the transport is away, frames are dropped (the
    database still gets everything; browsers resync from it by seq).
    """

    def __init__(self, transport):
        super().__init__(name="streamtap-live", daemon=True)
        self.transport = transport
        self.session_id: str | None = None
        self.session_pk: int | None = None
        self._cond = threading.Condition()
        self._events: deque = deque()
        self._states: list = []
        self._output: list = []
        self._output_bytes = 0
        self._output_gap: list | None = None
        self._info: dict | None = None
        self._sent_info: dict = {}  # every session_info key so far, latest values
        # Events by type so far: every frame with events carries them (session_info), so a
        # page that opened after some were sent still shows the session's true counts.
        self._counts: dict[str, int] = {}
        # The highest seq handed to this publisher (sent or dropped): every session_info
        # carries it, so a page learns of seqs it was not sent and resyncs for them.
        self._last_seq = 0
        self._stopping = False
        self._pacer = FramePacer(COALESCE_SECONDS)
        # Nothing to publish to (--no-live): the hot path skips the queues altogether.
        self.active = not isinstance(transport, NullTransport)

    def set_session(self, session_id: str, session_pk: int, info: dict | None = None) -> None:
        """The session row exists: announce it (pages list a new session at once, not at its
        first event), ahead of anything queued before the row was there."""
        with self._cond:
            self.session_id, self.session_pk = session_id, session_pk
            if self.active and info is not None:
                started = {"state": "running", "timestamp": info.get("started_at"), "metadata": {}}
                self._states.insert(0, started)
                self._info = {"status": "running", **info, **(self._info or {})}
            self._cond.notify()

    def events(self, events: list[dict]) -> None:
        """A tap's event rows (as handed to the writer), sent in the wire shape."""
        if not self.active:
            return
        with self._cond:
            self._events.extend(events)
            self._last_seq = max(self._last_seq, max((int(r["seq"]) for r in events), default=0))
            overflow = len(self._events) - MAX_QUEUED_EVENTS
            if overflow > 0:
                # Browsers see the gap in seq and resync from the database.
                for _ in range(overflow):
                    self._count(self._events.popleft())
            self._cond.notify()

    def state(self, state: dict, info: dict | None = None) -> None:
        if not self.active:
            # A prompt-heavy program changes state thousands of times: with nothing to publish
            # to, waking this thread for each cost the reader CPU and interpreter-lock hand-offs.
            return
        with self._cond:
            self._states.append(state)
            if info:
                self._info = {**(self._info or {}), **info}
            self._cond.notify()

    def output(self, oseq: int, offset: float, text: str) -> None:
        if not self.active:
            return
        with self._cond:
            if self._output_bytes + len(text) > MAX_OUTPUT_PER_FRAME:
                # Too much to show live: the page re-reads these chunks from the recording.
                if self._output_gap is None:
                    self._output_gap = [oseq, oseq]
                else:
                    self._output_gap[1] = oseq
                return
            self._output.append([oseq, offset, text])
            self._output_bytes += len(text)
            self._cond.notify()

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.join(timeout)

    def _count(self, row: dict) -> None:
        kind = row.get("event_type", "")
        self._counts[kind] = self._counts.get(kind, 0) + 1

    def _has_pending(self) -> bool:
        return bool(self._events or self._states or self._output or self._output_gap)

    def run(self) -> None:
        lost = False  # the last frame did not go out
        unconfirmed = False  # frames went out since the server last confirmed it has them
        try:
            self.transport.open()
            while True:
                confirm = False
                with self._cond:
                    while not self._stopping and not (self._has_pending() and self.session_pk):
                        # A lost frame's events are announced by none that follow when the
                        # program goes quiet: say where the session is (pages resync from the
                        # database) every RECONNECT_SECONDS until the transport is back.
                        if lost:
                            timeout = RECONNECT_SECONDS
                        elif unconfirmed:
                            timeout = CONFIRM_AFTER_SECONDS
                        else:
                            timeout = 1.0
                        if not self._cond.wait(timeout=timeout) and (lost or unconfirmed):
                            confirm = not lost
                            break
                    stopping = self._stopping
                if confirm and not stopping:
                    # Quiet after frames: did they reach the server? (A dropped socket's last
                    # frames would otherwise be lost without anything announcing them.)
                    unconfirmed = False
                    lost = not self.transport.confirm(CONFIRM_TIMEOUT_SECONDS)
                    if lost:
                        log.info("streamtap: live frames unconfirmed; announcing the session again")
                    continue
                if not stopping:
                    # Coalesce while busy: what arrives meanwhile goes out in one frame.
                    wait = self._pacer.wait(time.monotonic())
                    if wait > 0:
                        time.sleep(wait)
                frame = self._take_frame(announce=lost)
                if frame:
                    self._pacer.sent(time.monotonic())
                    lost = not self.transport.send(frame)
                    unconfirmed = not lost
                if stopping:
                    return
        except Exception:
            log.exception("streamtap live publisher stopped")
        finally:
            self.transport.close()

    def _take_frame(self, announce: bool = False) -> dict | None:
        """The frame of everything pending; with ``announce``, at least the session's info
        (status, counts, last seq) as last sent."""
        with self._cond:
            if announce:
                self._info = {**self._sent_info, **(self._info or {})}
            if not self.session_pk or not (self._has_pending() or self._info):
                return None
            frame = {
                "type": "live.batch",
                "session": self.session_id,
                "session_pk": self.session_pk,
            }
            if self._events:
                # Converted here, on the publisher's thread, once per frame: the tap's reader
                # only queues its rows (and a row queued before the session row existed gets
                # the session's id now).
                session_id = self.session_id
                frame["events"] = [event_row_to_wire(row, session_id) for row in self._events]
                for row in self._events:
                    self._count(row)
                self._info = {
                    **(self._info or {}),
                    "event_counts": dict(self._counts),
                    "total_extraction_events": sum(self._counts.values()),
                }
                self._events.clear()
            if self._states:
                frame["states"], self._states = self._states, []
            if self._output:
                frame["output"], self._output, self._output_bytes = self._output, [], 0
            if self._output_gap:
                frame["output_gap"], self._output_gap = self._output_gap, None
            if self._info:
                frame["session_info"] = {**self._info, "last_seq": self._last_seq}
                self._sent_info.update(self._info)
                self._info = None
            return frame


class WebsocketTransport:
    """Sends frames to the server's /ws/ingest/ (default setup: no broker needed)."""

    def __init__(self, server_url: str, headers: dict):
        base = server_url.rstrip("/")
        self.origin = base
        self.url = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self.url += "/ws/ingest/"
        # Every connection of this tap presents one random key: after a drop the server never
        # heard of, the next connection takes the session over from the dead one
        # (sessions/ingest.py, PUBLISHER_HEADER).
        self.headers = {**headers, "X-Streamtap-Publisher": secrets.token_urlsafe(24)}
        self._ws = None
        self._next_attempt = 0.0

    def open(self) -> None:
        self._connect()

    def _connect(self) -> bool:
        if time.monotonic() < self._next_attempt:
            return False
        from websockets.sync.client import connect

        try:
            self._ws = connect(
                self.url,
                additional_headers=self.headers,
                origin=self.origin,
                open_timeout=1.0,
                close_timeout=0.5,
                max_size=2**20,
                compression=None,
            )
            return True
        except Exception as exc:  # server not running: live view off, capture unaffected
            log.info("streamtap: live server %s unavailable: %s", self.url, exc)
            self._ws = None
            self._next_attempt = time.monotonic() + RECONNECT_SECONDS
            return False

    def send(self, frame: dict) -> bool:
        if self._ws is None and not self._connect():
            return False
        try:
            for message in frame_messages(frame):
                self._ws.send(message)
            return True
        except Exception as exc:
            log.info("streamtap: live send failed: %s", exc)
            self._ws = None
            self._next_attempt = time.monotonic() + RECONNECT_SECONDS
            return False

    def confirm(self, timeout: float) -> bool:
        """Whether the server has every message sent so far: a ping's pong comes after them
        on the same connection. A socket that gives none in ``timeout`` is dropped, so the next
        send connects again."""
        if self._ws is None:
            return False
        try:
            if self._ws.ping().wait(timeout):
                return True
            log.info("streamtap: live server gave no pong in %.1f s; reconnecting", timeout)
        except Exception as exc:
            log.info("streamtap: live connection lost: %s", exc)
        self.close()
        self._next_attempt = time.monotonic() + RECONNECT_SECONDS
        return False

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:
                pass
            self._ws = None


def frame_messages(frame: dict, limit: int = MAX_MESSAGE_BYTES) -> list[str]:
    """``frame`` as JSON texts of at most ``limit`` bytes, in order: its events and output chunks
    split across them, its states and session info in the last.

    An event too big for a message on its own is left out (the last message's
    ``session_info.last_seq`` tells pages to read it from the database); such an output chunk
    becomes an ``output_gap`` (pages read it from the recording). Splitting encodes again, but
    only frames over the limit, which a flood makes a few of a second at most.
    """
    text = json.dumps(frame, separators=(",", ":"))  # ASCII: its length is its size in bytes
    if len(text) <= limit:
        return [text]
    items = [("events", e) for e in frame.get("events", ())]
    items += [("output", c) for c in frame.get("output", ())]
    head = {k: frame[k] for k in ("type", "session", "session_pk") if k in frame}
    if len(items) > 1:
        middle = len(items) // 2
        first, rest = dict(head), {k: v for k, v in frame.items() if k not in ("events", "output")}
        for part, chosen in ((first, items[:middle]), (rest, items[middle:])):
            for key, item in chosen:
                part.setdefault(key, []).append(item)
        return frame_messages(first, limit) + frame_messages(rest, limit)
    if not items:
        log.warning("streamtap: a live frame's states alone exceed %d bytes; not sent", limit)
        return []
    rest = {k: v for k, v in frame.items() if k not in ("events", "output")}
    [(key, item)] = items
    if key == "output":
        rest["output_gap"] = merge_gap(rest.get("output_gap"), [item[0], item[0]])
    else:
        log.info("streamtap: event %s is too big to send live; pages read it stored", item["seq"])
    return frame_messages(rest, limit)


class ChannelLayerTransport:
    """Sends frames straight into a cross-process channel layer (channels-redis).

    No ingest consumer sees these frames, so this transport itself notes the highest seq it
    announced in the shared record (``sessions.live.note_announced``) that every server worker
    reads when a page subscribes.
    """

    def __init__(self):
        self._loop = None
        self._layer = None

    def open(self) -> None:
        # channels-redis imports cryptography's Fernet at import time, for layers that encrypt
        # their messages; streamtap's never do (settings.CHANNEL_LAYERS). Its Rust extension
        # took ~6 MB of the tap's memory on Redis (issue 19.3: ≤ 100 MB under a flood). Marked
        # missing, channels-redis leaves encryption unavailable, as without the package.
        sys.modules.setdefault("cryptography.fernet", None)
        from channels.layers import get_channel_layer

        self._loop = asyncio.new_event_loop()
        self._layer = get_channel_layer()

    def send(self, frame: dict) -> bool:
        everyone, session_frame = split_frame(frame)
        try:
            self._loop.run_until_complete(self._send(everyone, session_frame, frame["session_pk"]))
        except Exception as exc:  # Redis down: live push degrades, the database stays complete
            log.info("streamtap: channel layer send failed: %s", exc)
            return False
        note_announced(frame["session_pk"], frame["session"], top_seq(frame))
        return True

    async def _send(self, everyone: dict, session_frame: dict, pk: int) -> None:
        await self._layer.group_send(ALL_GROUP, everyone)
        await self._layer.group_send(group_for_session(pk), session_frame)

    def confirm(self, timeout: float) -> bool:
        return True  # a send returns once the broker has the frame

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()


class NullTransport:
    def open(self) -> None:
        pass

    def send(self, frame: dict) -> bool:
        return False

    def confirm(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        pass


def default_transport(server_url: str, api_token: str = ""):
    """Redis when configured (the tap joins the same layer as the servers), else the server."""
    from django.conf import settings

    if getattr(settings, "REDIS_URL", ""):
        return ChannelLayerTransport()
    return WebsocketTransport(server_url, ingest_auth_headers(api_token))
