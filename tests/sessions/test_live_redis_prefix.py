"""Two installations sharing one Redis do not see each other's live events.

Redis pub/sub ignores the database number in the URL, so the installations are told apart by
STREAMTAP_REDIS_PREFIX. Each installation's settings are read in a process of its own, as its
servers and taps would read them; the layers then talk over the real Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from channels_redis.pubsub import RedisPubSubChannelLayer

from sessions.live import group_for_session

from .live_bus import REDIS_URL, run_in_an_installation


def installation_settings(tmp_path: Path, **env: str) -> dict:
    """The channel layer and live cache an installation's processes get from ``env``."""
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.CHANNEL_LAYERS['default'], s.CACHES['live']['KEY_PREFIX']]))"
    )
    result = run_in_an_installation(code, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    layer, cache_prefix = json.loads(result.stdout)
    return {"layer": layer, "cache_prefix": cache_prefix}


def heard(sender_config: dict, listener_config: dict) -> list[dict]:
    """What a page of the listener's installation subscribed to session 1 hears while the
    sender's installation publishes an event of its own session 1."""

    async def exchange() -> list[dict]:
        listener = RedisPubSubChannelLayer(**listener_config["CONFIG"])
        sender = RedisPubSubChannelLayer(**sender_config["CONFIG"])
        group = group_for_session(1)
        try:
            channel = await listener.new_channel()
            await listener.group_add(group, channel)
            await asyncio.sleep(0.2)  # the subscription reaches Redis
            await sender.group_send(group, {"type": "live.events", "seq": 1})
            messages = []
            try:
                while True:
                    messages.append(await asyncio.wait_for(listener.receive(channel), 1.0))
            except TimeoutError:
                return messages
        finally:
            await listener.flush()
            await sender.flush()

    return asyncio.run(exchange())


def test_by_default_every_process_of_an_installation_shares_one_prefix(tmp_path):
    installation = installation_settings(tmp_path)

    assert installation["layer"]["CONFIG"] == {"hosts": [REDIS_URL], "prefix": "streamtap"}
    assert installation["cache_prefix"] == "streamtap.live"
    assert heard(installation["layer"], installation["layer"]) == [
        {"type": "live.events", "seq": 1}
    ]


def test_two_prefixes_on_one_redis_keep_their_sessions_apart(tmp_path):
    first = installation_settings(tmp_path, STREAMTAP_REDIS_PREFIX="team-a")
    second = installation_settings(tmp_path, STREAMTAP_REDIS_PREFIX="team-b")

    assert first["cache_prefix"] == "team-a.live" != second["cache_prefix"]
    assert heard(first["layer"], second["layer"]) == []
    assert heard(first["layer"], first["layer"]) == [{"type": "live.events", "seq": 1}]
