"""Paced playback of a recording: output, resizes and events in time order, at a speed.

``paced`` is a plain async generator with an injectable clock: it releases each batch of
messages when its scaled time has come. Seeking into a long recording (the index, keyframes)
is ``sessions/replay_index.py``, whose names stay importable from here for one release.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from .replay_index import (  # noqa: F401  (the index's names, importable from here one release)
    INDEX_FORMAT,
    INDEX_STEP_BYTES,
    INDEX_SUFFIX,
    KEYFRAME_BYTES,
    MAX_FILE_OFFSET,
    SCREEN_CLEARS,
    Cursor,
    Frame,
    RecordingIndex,
    Seek,
)

# --- paced playback --------------------------------------------------------------------------

MAX_SPEED = 64.0
# Slower than this, a second of recording takes minutes; towards 0 a pause scales to an
# infinite wait and the stream would stay open for nothing.
MIN_SPEED = 0.01
POLL_SECONDS = 0.25
READ_BYTES = 256 * 1024

# (after_seq) -> (session still live, its events after that seq as EVENT dicts)
Follow = Callable[[int], Awaitable[tuple[bool, list[dict]]]]


class Pacer:
    """Recording time → playback time: each gap capped at the idle limit, divided by speed."""

    def __init__(self, *, start: float, speed: float, idle_time_limit: float | None):
        self.previous = start
        self.speed = speed
        self.idle_time_limit = idle_time_limit
        self.playback = 0.0

    def due(self, t: float) -> float:
        gap = max(0.0, t - self.previous)
        if self.idle_time_limit is not None:
            gap = min(gap, self.idle_time_limit)
        self.previous = max(self.previous, t)
        self.playback += gap / self.speed
        return self.playback


def _event_message(event: dict) -> dict:
    return {"t": event["offset_seconds"], "type": "event", "event": event}


async def recording_messages(
    index: RecordingIndex,
    events: Iterable[dict],
    *,
    start: float = 0.0,
    follow: Follow | None = None,
    after_seq: int | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[dict | None]:
    """Output, resizes and events from ``start`` on, in recording time order.

    An event comes after the output chunk it was found in (same time, chunk first). With
    ``follow`` the recording is followed while the session is live: at the end of what is
    written this yields ``None`` (nothing more for now) and polls the file and the database for
    events after ``after_seq`` (default: the highest seq in ``events``).
    """
    events = sorted(events, key=lambda e: (e["offset_seconds"], e["seq"]))
    last_seq = after_seq if after_seq is not None else max((e["seq"] for e in events), default=0)
    pending = [e for e in events if e["offset_seconds"] >= start]
    pending.reverse()  # a stack: pop() gives the earliest
    last_t = start
    if start > 0:
        seek = await asyncio.to_thread(index.seek, start)
        if (seek.cols, seek.rows) != (index.cols, index.rows):
            yield {"t": start, "type": "r", "data": f"{seek.cols}x{seek.rows}"}
        if seek.keyframe:
            yield {"t": start, "type": "o", "data": seek.keyframe, "keyframe": True}
        cursor = seek.cursor
    else:
        cursor = index.start()
    finishing = follow is None
    while True:
        frames, after = await asyncio.to_thread(index.read, cursor, max_bytes=READ_BYTES)
        for frame in frames:
            if frame.t < start or frame.code not in ("o", "r"):
                continue
            while pending and pending[-1]["offset_seconds"] < frame.t:
                yield _event_message(pending.pop())
            last_t = max(last_t, frame.t)
            yield {"t": frame.t, "type": frame.code, "data": frame.data}
        if after.byte != cursor.byte:
            cursor = after
            continue
        if finishing:
            break
        # Caught up with a live session: what it found so far is due now, then wait for more.
        while pending and pending[-1]["offset_seconds"] <= last_t:
            yield _event_message(pending.pop())
        yield None
        live, new = await follow(last_seq)
        for event in sorted(new, key=lambda e: e["seq"]):
            last_seq = max(last_seq, event["seq"])
            pending.append(event)
        pending.sort(key=lambda e: (e["offset_seconds"], e["seq"]), reverse=True)
        if not live:
            finishing = True  # one more read: the tap's last lines came before its exit
            continue
        await asyncio.sleep(poll_seconds)
    while pending:
        yield _event_message(pending.pop())


async def paced(
    messages: AsyncIterator[dict | None],
    *,
    start: float,
    speed: float,
    idle_time_limit: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable] = asyncio.sleep,
    max_batch: int = 500,
) -> AsyncIterator[list[dict]]:
    """Batches of messages, each released when its scaled time has come.

    Messages due together (a burst of output, a catch-up at high speed) leave as one batch, so
    a fast replay is not one network write per chunk.
    """
    pacer = Pacer(start=start, speed=speed, idle_time_limit=idle_time_limit)
    began = clock()
    batch: list[dict] = []
    async for message in messages:
        if message is None:
            if batch:
                yield batch
                batch = []
            continue
        delay = began + pacer.due(message["t"]) - clock()
        if delay > 0.005:
            if batch:
                yield batch
                batch = []
            await sleep(delay)
        batch.append(message)
        if len(batch) >= max_batch:
            yield batch
            batch = []
    if batch:
        yield batch


def encode_ndjson(messages: list[dict]) -> bytes:
    return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages).encode()


def encode_sse(messages: list[dict]) -> bytes:
    return "".join(f"data: {json.dumps(m, ensure_ascii=False)}\n\n" for m in messages).encode()


async def replay_body(
    index: RecordingIndex,
    events: Iterable[dict],
    *,
    start: float,
    speed: float,
    idle_time_limit: float | None,
    fmt: str = "ndjson",
    follow: Follow | None = None,
    after_seq: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable] = asyncio.sleep,
) -> AsyncIterator[bytes]:
    encode = encode_sse if fmt == "sse" else encode_ndjson
    messages = recording_messages(index, events, start=start, follow=follow, after_seq=after_seq)
    async for batch in paced(
        messages,
        start=start,
        speed=speed,
        idle_time_limit=idle_time_limit,
        clock=clock,
        sleep=sleep,
    ):
        yield encode(batch)
    yield encode([{"type": "end"}])
