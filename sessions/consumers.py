"""The browser end of the live bus: `ws/live/` (protocol in docs/architecture.md).

A browser subscribes to every session (`st.all`: events and state changes) or to one session
(`st.session.<pk>`: also terminal output). The database is the truth and the bus a hint: on
subscribe and on resync the consumer replays events from the database after the client's last
seq, and it drops live events the client already has, so a client that dedupes by
`(session, seq)` and resyncs on a gap never misses one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db.models import Count, Max

from extraction.models import ExtractionEvent

from .live import (
    ALL_GROUP,
    FramePacer,
    announced_seq,
    event_to_dict,
    group_for_session,
    merge_gap,
    session_info,
)
from .models import ProcessSession, SessionStatus

# Close codes the page understands (4000-4999 are for applications).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_BIG = 4413
CLOSE_TOO_MANY = 4429

# Sessions whose stored counts (written when a session ends) are not final yet. A session the
# server marked lost may still get its events from `recover`.
COUNTED_LIVE = (SessionStatus.RUNNING, SessionStatus.WAITING_FOR_INPUT, SessionStatus.LOST)


def _tunable(name: str, default):
    return getattr(settings, "STREAMTAP", {}).get(name, default)


@dataclass
class SessionCursor:
    """What this socket has already sent for one session: high-water marks used to drop
    live items that the backlog (or the other group) already delivered."""

    session_id: str
    last_seq: int = 0
    last_oseq: int = 0
    recent_states: deque = field(default_factory=lambda: deque(maxlen=32))
    # A subscribed live session's events by type: the stored ones counted at subscribe (every
    # seq ≤ counted_upto), then each event sent since, once (a resync may send one again).
    counts: dict | None = None
    counted_upto: int = 0
    counted_ahead: set = field(default_factory=set)

    def count(self, events) -> bool:
        """Add events not counted yet; whether the counts changed."""
        if self.counts is None:
            return False
        changed = False
        for event in events:
            seq = int(event["seq"])
            if seq <= self.counted_upto or seq in self.counted_ahead:
                continue
            self.counted_ahead.add(seq)
            kind = event.get("event_type", "")
            self.counts[kind] = self.counts.get(kind, 0) + 1
            changed = True
        while self.counted_upto + 1 in self.counted_ahead:
            self.counted_upto += 1
            self.counted_ahead.discard(self.counted_upto)
        return changed

    def adopt(self, counts: dict, upto: int) -> None:
        """The tap's own counts of every event up to seq ``upto`` (stored or not yet): the
        truth, unless this socket already counted events past them."""
        if self.counts is None or upto < max(self.counted_upto, *self.counted_ahead, 0):
            return
        self.counts = {str(k): int(v) for k, v in counts.items()}
        self.counted_upto = upto
        self.counted_ahead.clear()

    def counts_info(self) -> dict:
        return {
            "event_counts": dict(self.counts),
            "total_extraction_events": sum(self.counts.values()),
        }


class LiveConsumer(AsyncJsonWebsocketConsumer):
    MAX_MESSAGE_BYTES = 4096
    # Client messages per second; a page sends a handful (subscribe, an occasional resync).
    MAX_MESSAGES_PER_SECOND = 20
    MAX_SESSION_SUBSCRIPTIONS = 50
    BACKLOG_PAGE = 500
    # Remember cursors for this many sessions (an `st.all` socket sees every session).
    MAX_CURSORS = 2000

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept first so the browser sees the close code (a refused handshake only shows
            # as a failed connection) and knows to send the user to the login page, not retry.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined: set[str] = set()
        self.session_pks: set[int] = set()
        self.cursors: OrderedDict[str, SessionCursor] = OrderedDict()
        self.recent_messages: deque[float] = deque()
        # Outgoing frames waiting for the next flush, by session, in arrival order.
        self.pending: OrderedDict[str, list[dict]] = OrderedDict()
        self.pacer = FramePacer(float(_tunable("LIVE_FLUSH_SECONDS", 0.05)))
        self.flush_task: asyncio.Task | None = None
        self.closed = False
        self.all_events = True
        await self.accept()

    async def disconnect(self, code):
        self.closed = True
        task = getattr(self, "flush_task", None)
        if task is not None:
            task.cancel()
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    # Client → server

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.closed or not hasattr(self, "cursors"):
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > self.MAX_MESSAGE_BYTES:
            await self.send_error(f"message larger than {self.MAX_MESSAGE_BYTES} bytes")
            await self.close_for(CLOSE_TOO_BIG)
            return
        if self.over_rate_limit():
            await self.send_error(f"more than {self.MAX_MESSAGES_PER_SECOND} messages per second")
            await self.close_for(CLOSE_TOO_MANY)
            return
        if text_data is None:
            await self.send_error("binary frames are not supported")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_error("invalid JSON")
            return
        if not isinstance(content, dict):
            await self.send_error("expected a JSON object")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        action = content.get("action")
        if action == "subscribe" and content.get("scope") == "all":
            # `"events": false`: state changes only (the header's waiting badge on every page
            # needs no event of any session).
            if content.get("events") is False:
                self.all_events = False
            await self.join(ALL_GROUP)
        elif action == "subscribe" and content.get("scope") == "session":
            await self.subscribe_session(content)
        elif action == "resync":
            await self.resync(content)
        else:
            await self.send_error("unknown action; expected subscribe or resync")

    def over_rate_limit(self) -> bool:
        now = time.monotonic()
        window = self.recent_messages
        window.append(now)
        while window and window[0] <= now - 1.0:
            window.popleft()
        return len(window) > self.MAX_MESSAGES_PER_SECOND

    async def requested_session(self, content: dict, fields: tuple, usage: str):
        """The session a client message names and its seq ``fields`` (non-negative integers),
        or None once the client got an error frame (``usage``, or no such session)."""
        session_id = content.get("session")
        values = [_non_negative_int(content.get(name)) for name in fields]
        if not isinstance(session_id, str) or None in values:
            await self.send_error(usage)
            return None
        session = await _get_session(session_id)
        if session is None:
            await self.send_error(f"no session {session_id!r}")
            return None
        return session, *values

    async def subscribe_session(self, content: dict):
        requested = await self.requested_session(
            content,
            ("after_seq", "after_oseq"),
            "subscribe needs session (string), after_seq and after_oseq ≥ 0",
        )
        if requested is None:
            return
        session, after_seq, after_oseq = requested
        session_id = session.session_id
        if session.pk not in self.session_pks:
            if len(self.session_pks) >= self.MAX_SESSION_SUBSCRIPTIONS:
                await self.send_error("too many session subscriptions")
                return
            self.session_pks.add(session.pk)
        cursor = self.cursor_for(session_id)
        cursor.last_seq = after_seq
        cursor.last_oseq = after_oseq
        # Join the group before reading the database: an event committed in between is then
        # either in the backlog or in a live frame (or both, and the high-water mark drops
        # the second copy), never in neither.
        await self.join(group_for_session(session.pk))
        info = session_info(session)
        # Events already announced live (by any worker, or a tap straight into Redis) but maybe
        # not in the database yet: the page resyncs for them until their batch lands.
        info["last_seq"] = await sync_to_async(announced_seq, thread_sensitive=False)(
            session.pk, session.session_id
        )
        if session.status in COUNTED_LIVE:
            # A running session's counts are only written when it ends: count the stored
            # events now, and each event sent from here on (the page header stays current).
            if cursor.counts is None:
                cursor.counts, cursor.counted_upto = await _stored_counts(session)
                cursor.counted_ahead.clear()
            info.update(cursor.counts_info())
        await self.send_json(
            {"type": "state", "session": session_id, "states": [], "session_info": info}
        )
        await self.send_backlog(session, cursor, after_seq)

    async def resync(self, content: dict):
        requested = await self.requested_session(
            content, ("after_seq",), "resync needs session (string) and after_seq ≥ 0"
        )
        if requested is None:
            return
        session, after_seq = requested
        await self.send_backlog(session, self.cursor_for(session.session_id), after_seq)

    async def send_backlog(self, session, cursor: SessionCursor, after_seq: int):
        # Anything buffered for this session goes out first so frames stay in seq order.
        await self.flush()
        counted = False
        while True:
            page = await _events_after(session, after_seq, self.BACKLOG_PAGE)
            if not page:
                break
            await self.send_json(
                {"type": "events", "session": cursor.session_id, "events": page, "replay": True}
            )
            counted = cursor.count(page) or counted
            after_seq = page[-1]["seq"]
            cursor.last_seq = max(cursor.last_seq, after_seq)
            if len(page) < self.BACKLOG_PAGE:
                break
        if counted:
            await self.send_json(
                {
                    "type": "state",
                    "session": cursor.session_id,
                    "states": [],
                    "session_info": cursor.counts_info(),
                }
            )

    async def join(self, group: str):
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    def cursor_for(self, session_id: str) -> SessionCursor:
        cursor = self.cursors.get(session_id)
        if cursor is None:
            cursor = self.cursors[session_id] = SessionCursor(session_id)
            if len(self.cursors) > self.MAX_CURSORS:
                self.cursors.popitem(last=False)
        else:
            self.cursors.move_to_end(session_id)
        return cursor

    # Channel layer → client

    async def live_batch(self, message: dict):
        """A `live.batch` from either group, turned into frames for this client.

        A socket subscribed to `st.all` and to a session gets that session's batches twice;
        the high-water marks (and recent state keys) make the second copy a no-op.
        """
        session_id = message.get("session")
        if not isinstance(session_id, str):
            return
        cursor = self.cursor_for(session_id)
        subscribed = message.get("session_pk") in self.session_pks
        events = [e for e in message.get("events") or () if int(e.get("seq", 0)) > cursor.last_seq]
        if events and not (self.all_events or subscribed):
            events = []
        if events:
            cursor.last_seq = max(int(e["seq"]) for e in events)
            self.queue(session_id, "events", {"events": events, "replay": False})
        counted = subscribed and cursor.count(events)
        tap_info = message.get("session_info") or {}
        if subscribed and isinstance(tap_info.get("event_counts"), dict) and message.get("events"):
            cursor.adopt(tap_info["event_counts"], max(int(e["seq"]) for e in message["events"]))
        states = []
        for state in message.get("states") or ():
            key = (state.get("state"), state.get("timestamp"))
            if key not in cursor.recent_states:
                cursor.recent_states.append(key)
                states.append(state)
        if states or "session_info" in message or counted:
            frame = {"states": states}
            if "session_info" in message:
                frame["session_info"] = message["session_info"]
            if subscribed and cursor.counts is not None:
                frame["session_info"] = {**frame.get("session_info", {}), **cursor.counts_info()}
            self.queue(session_id, "state", frame)
        if subscribed:
            chunks = [c for c in message.get("output") or () if int(c[0]) > cursor.last_oseq]
            gap = message.get("output_gap")
            if chunks or gap:
                if chunks:
                    cursor.last_oseq = int(chunks[-1][0])
                frame = {"chunks": chunks}
                if gap:
                    frame["gap"] = gap
                self.queue(session_id, "output", frame)
        await self.schedule_flush()

    def queue(self, session_id: str, frame_type: str, body: dict):
        """Buffer a frame, merging it into the session's last buffered frame of that type."""
        frames = self.pending.setdefault(session_id, [])
        last = frames[-1] if frames else None
        if last is not None and last["type"] == frame_type:
            if frame_type == "events":
                last["events"].extend(body["events"])
                return
            if frame_type == "output":
                last["chunks"].extend(body["chunks"])
                if "gap" in body:
                    last["gap"] = merge_gap(last.get("gap"), body["gap"])
                return
            if frame_type == "state":
                last["states"].extend(body["states"])
                if "session_info" in body:
                    last["session_info"] = body["session_info"]
                return
        frames.append({"type": frame_type, "session": session_id, **body})

    async def schedule_flush(self):
        """Send at once when quiet; when busy, a few flushes per interval (``FramePacer``).

        A browser then sees a lone event within milliseconds, and a session printing
        thousands of events a second costs it tens of frames a second instead of thousands.
        """
        if self.flush_task is not None or not self.pending:
            return
        wait = self.pacer.wait(time.monotonic())
        if wait <= 0:
            await self.flush()
        else:
            self.flush_task = asyncio.ensure_future(self.flush_later(wait))

    async def flush_later(self, wait: float):
        try:
            await asyncio.sleep(wait)
        finally:
            self.flush_task = None
        await self.flush()

    async def flush(self):
        if self.closed:
            self.pending.clear()
            return
        pending, self.pending = self.pending, OrderedDict()
        # A state-only flush (the second copy of a batch from the other group, a count) is
        # small work for the page: it does not use up the budget events and output need.
        if any(f["type"] != "state" for frames in pending.values() for f in frames):
            self.pacer.sent(time.monotonic())
        for frames in pending.values():
            for frame in frames:
                await self.send_json(frame)

    async def send_error(self, text: str):
        await self.send_json({"type": "error", "message": text})

    async def close_for(self, code: int):
        self.closed = True
        await self.close(code=code)


def _non_negative_int(value, default: int = 0) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


@database_sync_to_async
def _get_session(session_id: str) -> ProcessSession | None:
    return ProcessSession.objects.filter(session_id=session_id).first()


@database_sync_to_async
def _stored_counts(session: ProcessSession) -> tuple[dict, int]:
    """The session's stored events by type, and the highest seq among them."""
    rows = session.events.values("event_type").annotate(n=Count("id"), top=Max("seq")).order_by()
    counts = {row["event_type"]: row["n"] for row in rows}
    return counts, max((row["top"] for row in rows), default=0)


@database_sync_to_async
def _events_after(session: ProcessSession, seq: int, limit: int) -> list[dict]:
    events = list(ExtractionEvent.objects.after_seq(session, seq)[:limit])
    for event in events:
        event.session = session  # event_to_dict reads session.session_id; no query per row.
    return [event_to_dict(e) for e in events]
