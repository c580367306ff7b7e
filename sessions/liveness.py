"""The server's side of liveness: sessions whose tap stopped beating become ``lost``, live.

A tap killed with -9 (or a host that went away) writes nothing more: its session would stay
"running" forever. Every server process sweeps: ``ProcessSession.objects.mark_lost()`` flips a
silent session in one conditional UPDATE, so with several workers exactly one records it and
announces it on the live bus (open pages update without a reload); a tap that beats again
takes its session back (``revive``). Each round also brings the output search index of ended
sessions up to date (what the tap's writer left to the server), and on PostgreSQL the events'
text search index (extraction/search_postgres.py).

The sweep runs as a background task of the ASGI application when daphne serves it (the first
request starts it on daphne's event loop). Test clients that call the application in-process
(``WebsocketCommunicator``) get no sweeper: it would change their sessions behind their back.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError

from extraction import search
from output_search.indexer import catch_up_recent

from .live import ALL_GROUP, group_for_session, session_info
from .models import ProcessSession, heartbeat_seconds

log = logging.getLogger(__name__)


def sweep(now=None) -> list[dict]:
    """Mark silent sessions lost and revive those that beat again; the live frames to announce."""
    changed = ProcessSession.objects.mark_lost(now) + ProcessSession.objects.revive(now)
    frames = []
    for session in changed:
        change = session.state_changes.order_by("-timestamp", "-id").first()
        frames.append(
            {
                "type": "live.batch",
                "session": session.session_id,
                "session_pk": session.pk,
                "states": [
                    {
                        "state": change.state,
                        "timestamp": change.timestamp.isoformat(),
                        "metadata": change.metadata,
                    }
                ],
                "session_info": session_info(session),
            }
        )
    return frames


async def announce(frames: list[dict]) -> None:
    layer = get_channel_layer()
    for frame in frames:
        await layer.group_send(ALL_GROUP, frame)
        await layer.group_send(group_for_session(frame["session_pk"]), frame)


def sweep_interval() -> float:
    # Half a beat: a silent session is lost between 3 and 3.5 intervals after its last beat.
    return max(0.2, heartbeat_seconds() / 2)


# Each round also indexes ended sessions' output the tap's writer left (a flood's lines), for
# up to this long: a search finds them without paying for the catch-up itself.
OUTPUT_INDEX_BUDGET = 0.5


async def sweep_forever() -> None:
    while True:
        try:
            frames = await database_sync_to_async(sweep)()
            if frames:
                await announce(frames)
            # Off the thread that serves Django's views: half a second there would stall pages.
            await database_sync_to_async(catch_up_recent, thread_sensitive=False)(
                budget_seconds=OUTPUT_INDEX_BUDGET
            )
            await database_sync_to_async(search.catch_up_in_background, thread_sensitive=False)()
        except asyncio.CancelledError:
            raise
        except (DatabaseError, OSError) as exc:  # a locked or absent database: next round
            log.warning("streamtap: liveness sweep failed: %s", exc)
        except Exception:
            log.exception("streamtap: liveness sweep failed")
        await asyncio.sleep(sweep_interval())


def served_by_daphne() -> bool:
    main = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if main is None:
        return False
    return main.name == "daphne" or (main.name == "__main__.py" and main.parent.name == "daphne")


class LivenessSweeper:
    """ASGI middleware: starts the sweep on the server's event loop with the first request."""

    def __init__(self, app, enabled: bool | None = None):
        self.app = app
        self.enabled = served_by_daphne() if enabled is None else enabled
        self.task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        if self.enabled and self.task is None and scope["type"] in ("http", "websocket"):
            self.task = asyncio.get_running_loop().create_task(sweep_forever())
        return await self.app(scope, receive, send)
