"""A tap's live frames carry the session's counts, so pages opened mid-run show true totals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sessions.live import LivePublisher


class Transport:
    """The far end of the publisher (the server's ingest socket), recording frames."""

    def __init__(self):
        self.frames = []
        self.sent = threading.Condition()

    def open(self):
        pass

    def send(self, frame):
        with self.sent:
            self.frames.append(frame)
            self.sent.notify_all()
        return True

    def close(self):
        pass

    def wait_for_seq(self, seq: int) -> None:
        with self.sent:
            assert self.sent.wait_for(
                lambda: any(e["seq"] == seq for f in self.frames for e in f.get("events", ())),
                timeout=10,
            )


def row(seq: int, event_type: str) -> dict:
    return {
        "seq": seq, "agent_name": "a", "event_type": event_type, "rule": "r", "severity": "error",
        "risk_level": "low", "auto_confirmable": False, "line_start": seq, "line_end": seq,
        "content": "x", "context": "", "metadata": {}, "timestamp": datetime.now(tz=UTC),
        "offset_seconds": 0.1,
    }  # fmt: skip


def test_every_frame_with_events_carries_the_counts_of_all_events_so_far():
    transport = Transport()
    publisher = LivePublisher(transport)
    publisher.start()
    publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
    publisher.events([row(1, "error"), row(2, "warning")])
    transport.wait_for_seq(2)
    publisher.events([row(3, "error")])
    transport.wait_for_seq(3)
    publisher.close()

    with_events = [f for f in transport.frames if f.get("events")]
    last = with_events[-1]["session_info"]
    assert last["event_counts"] == {"error": 2, "warning": 1}
    assert last["total_extraction_events"] == 3
    first = with_events[0]["session_info"]
    assert first["total_extraction_events"] == len(
        [
            e
            for f in transport.frames[: transport.frames.index(with_events[0]) + 1]
            for e in f.get("events", ())
        ]
    )
