"""LivePublisher with a fake transport: what frames it sends, and that it never blocks; and
how a frame is cut into messages the server's websocket takes."""

import json
import os
import time

from sessions.tap.publisher import (
    CONFIRM_AFTER_SECONDS,
    RECONNECT_SECONDS,
    LivePublisher,
    NullTransport,
    frame_messages,
)
from tests.sessions.live_bus import RecordingTransport, run_in_an_installation, tap_row


def test_nothing_is_sent_before_the_session_row_exists_then_everything_in_one_frame():
    transport = RecordingTransport()
    publisher = LivePublisher(transport)
    publisher.start()
    publisher.events([tap_row(1), tap_row(2)])
    publisher.output(1, 0.1, "boom\n")
    assert not transport.wait_for_frame(0.3)
    publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
    assert transport.wait_for_frame(10)
    publisher.close()
    frame = transport.frames[0]
    assert frame["session"] == "s-1" and frame["session_pk"] == 5
    assert [e["seq"] for e in frame["events"]] == [1, 2]
    assert frame["events"][0]["session"] == "s-1"
    assert frame["output"] == [[1, 0.1, "boom\n"]]
    assert frame["states"][0]["state"] == "running"


def test_with_nothing_to_publish_to_the_calls_do_nothing():
    publisher = LivePublisher(NullTransport())
    assert not publisher.active
    publisher.events([tap_row(1)])
    publisher.state({"state": "running"})
    publisher.output(1, 0.0, "x")
    assert not publisher._has_pending()


def test_every_session_info_carries_the_highest_seq_handed_over_even_when_it_was_not_sent():
    transport = RecordingTransport()
    publisher = LivePublisher(transport)
    publisher.start()
    publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
    publisher.events([tap_row(1), tap_row(2)])
    transport.wait_for_seq(2)
    # A state with news of the session but no event: the page still learns seqs go up to 2.
    publisher.state({"state": "waiting_for_input"}, {"status": "waiting_for_input"})
    publisher.close()
    infos = [f["session_info"] for f in transport.frames if "session_info" in f]
    assert infos and all("last_seq" in info for info in infos)
    assert infos[-1]["last_seq"] == 2
    assert infos[-1]["status"] == "waiting_for_input"


def test_the_old_names_in_sessions_live_are_deprecated_aliases():
    import warnings

    import sessions.live

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sessions.live.LivePublisher is LivePublisher
        assert sessions.live.NullTransport is NullTransport
    assert all(issubclass(w.category, DeprecationWarning) for w in caught) and len(caught) == 2


class LosingTransport(RecordingTransport):
    """A server that went away for the first ``lost`` frames (each one is lost)."""

    def __init__(self, lost: int):
        super().__init__()
        self.lost = lost

    def send(self, frame):
        if self.lost:
            self.lost -= 1
            return False
        return super().send(frame)


def test_after_a_lost_frame_the_session_is_announced_again_though_the_program_went_quiet():
    transport = LosingTransport(lost=1)
    publisher = LivePublisher(transport)
    publisher.start()
    publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
    publisher.events([tap_row(1), tap_row(2), tap_row(3, "warning")])  # lost with the first frame
    try:
        # Nothing else is handed over: the next frame is the publisher's own, within its retry.
        assert transport.wait_for_frame(RECONNECT_SECONDS + 5)
    finally:
        publisher.close()
    [announced, *_] = transport.frames
    assert "events" not in announced
    info = announced["session_info"]
    assert info["last_seq"] == 3  # pages resync seqs 1-3 from the database
    assert info["event_counts"] == {"error": 2, "warning": 1}
    assert info["agent_name"] == "a" and info["status"] == "running"


class SwallowingTransport(RecordingTransport):
    """A connection that dropped without a word: sends seem to work, nothing arrives, and the
    server answers no ping (the real one: tests/sessions/tap/test_websocket_transport.py)."""

    def __init__(self):
        super().__init__()
        self.dropped = False
        self.confirmations = []

    def send(self, frame):
        return True if self.dropped else super().send(frame)

    def confirm(self, timeout):
        self.confirmations.append(not self.dropped)
        if self.dropped:
            self.dropped = False  # the next send connects again
            return False
        return True


def test_frames_swallowed_by_a_silent_drop_are_announced_once_the_program_is_quiet():
    transport = SwallowingTransport()
    publisher = LivePublisher(transport)
    publisher.start()
    try:
        publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
        publisher.events([tap_row(1), tap_row(2)])
        transport.wait_for_seq(2)
        time.sleep(CONFIRM_AFTER_SECONDS + 1.5)
        assert transport.confirmations == [True]  # once after the frames, not while idle
        transport.dropped = True
        publisher.events([tap_row(3), tap_row(4, "warning")])
        deadline = time.monotonic() + CONFIRM_AFTER_SECONDS + RECONNECT_SECONDS + 5
        while time.monotonic() < deadline and len(transport.frames) < 2:
            time.sleep(0.05)
    finally:
        publisher.close()
    assert transport.confirmations[:2] == [True, False]
    seqs = [e["seq"] for f in transport.frames for e in f.get("events", ())]
    assert seqs == [1, 2]  # 3 and 4 were swallowed
    info = transport.frames[-1]["session_info"]
    assert info["last_seq"] == 4  # pages resync 3 and 4 from the database
    assert info["event_counts"] == {"error": 3, "warning": 1}


def wire(seq: int, content: str = "ERROR: boom") -> dict:
    return {"seq": seq, "event_type": "error", "content": content}


def test_a_frame_under_the_limit_is_one_message():
    frame = {"type": "live.batch", "session": "s", "session_pk": 1, "events": [wire(1)]}
    assert [json.loads(m) for m in frame_messages(frame, limit=1000)] == [frame]


def test_a_frame_over_the_limit_goes_in_messages_under_it_in_order_with_its_states_last():
    frame = {
        "type": "live.batch",
        "session": "s",
        "session_pk": 1,
        "events": [wire(seq, "ERROR: " + "x" * 300) for seq in range(1, 101)],
        "output": [[oseq, 0.5, "y" * 200] for oseq in range(1, 21)],
        "states": [{"state": "waiting_for_input"}],
        "session_info": {"last_seq": 100},
    }
    messages = frame_messages(frame, limit=4000)
    assert len(messages) > 10 and all(len(m.encode()) <= 4000 for m in messages)
    parts = [json.loads(m) for m in messages]
    assert all((p["type"], p["session"], p["session_pk"]) == ("live.batch", "s", 1) for p in parts)
    assert [e["seq"] for p in parts for e in p.get("events", ())] == list(range(1, 101))
    assert [c[0] for p in parts for c in p.get("output", ())] == list(range(1, 21))
    # Events before output, as the consumer reads one frame; states and info with the last.
    kinds = [k for p in parts for k in ("events", "output") if k in p]
    assert kinds == sorted(kinds)
    assert [p for p in parts if "states" in p or "session_info" in p] == [parts[-1]]
    assert parts[-1]["session_info"] == {"last_seq": 100}


def test_what_cannot_fit_a_message_alone_is_left_for_the_database_and_the_recording():
    frame = {
        "type": "live.batch",
        "session": "s",
        "session_pk": 1,
        "events": [wire(1), wire(2, "ERROR: " + "x" * 5000), wire(3)],
        "output": [[7, 0.5, "small"], [8, 0.6, "z" * 5000], [9, 0.7, "small"]],
        "session_info": {"last_seq": 3},
    }
    parts = [json.loads(m) for m in frame_messages(frame, limit=1000)]
    assert [e["seq"] for p in parts for e in p.get("events", ())] == [1, 3]
    assert [c[0] for p in parts for c in p.get("output", ())] == [7, 9]
    # The page reads chunk 8 from the recording, and learns of seq 2 from last_seq.
    assert [p["output_gap"] for p in parts if "output_gap" in p] == [[8, 8]]
    assert parts[-1]["session_info"]["last_seq"] == 3


def test_the_redis_transport_works_without_loading_encryption_it_never_uses(tmp_path):
    # In a process of its own, as a tap is. channels-redis imports cryptography's Fernet for
    # layers that encrypt their messages; streamtap's never do, and its Rust extension was ~6 MB
    # of a tap's memory budget on Redis (issue 19.3). Real Redis, a message there and back.
    code = (
        "import asyncio, json, sys\n"
        "from streamtap_site.cli import prepare; prepare('tap')\n"  # the tap's settings
        "import django; django.setup()\n"
        "from sessions.tap.publisher import ChannelLayerTransport\n"
        "transport = ChannelLayerTransport(); transport.open()\n"
        "layer = transport._layer\n"
        "async def there_and_back():\n"
        "    name = await layer.new_channel()\n"
        "    await layer.group_add('probe', name)\n"
        "    await layer.group_send('probe', {'type': 'probe.ping', 'n': 7})\n"
        "    return await asyncio.wait_for(layer.receive(name), 10)\n"
        "message = transport._loop.run_until_complete(there_and_back())\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('cryptography.hazmat'))\n"
        "print(json.dumps([message['n'], loaded]))\n"
    )
    result = run_in_an_installation(
        code, tmp_path, STREAMTAP_REDIS_PREFIX=f"streamtap-probe-{os.getpid()}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [7, []]
