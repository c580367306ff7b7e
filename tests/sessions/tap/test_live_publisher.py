"""LivePublisher with a fake transport: what frames it sends, and that it never blocks."""

import threading

from sessions.live import LivePublisher


class Transport:
    def __init__(self):
        self.frames = []
        self.sent = threading.Event()

    def open(self):
        pass

    def send(self, frame):
        self.frames.append(frame)
        self.sent.set()
        return True

    def close(self):
        pass


def row(seq):
    return {
        "seq": seq, "agent_name": "a", "event_type": "error", "rule": "r", "severity": "error",
        "risk_level": "high", "auto_confirmable": False, "line_start": 1, "line_end": 1,
        "content": "boom", "context": "", "metadata": {}, "timestamp": None,
        "offset_seconds": 0.1,
    }  # fmt: skip


def test_nothing_is_sent_before_the_session_row_exists_then_everything_in_one_frame():
    transport = Transport()
    publisher = LivePublisher(transport)
    publisher.start()
    publisher.events([row(1), row(2)])
    publisher.output(1, 0.1, "boom\n")
    assert not transport.sent.wait(0.3)
    publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
    assert transport.sent.wait(10)
    publisher.close()
    frame = transport.frames[0]
    assert frame["session"] == "s-1" and frame["session_pk"] == 5
    assert [e["seq"] for e in frame["events"]] == [1, 2]
    assert frame["events"][0]["session"] == "s-1"
    assert frame["output"] == [[1, 0.1, "boom\n"]]
    assert frame["states"][0]["state"] == "running"


def test_with_nothing_to_publish_to_the_calls_do_nothing():
    from sessions.live import NullTransport

    publisher = LivePublisher(NullTransport())
    assert not publisher.active
    publisher.events([row(1)])
    publisher.state({"state": "running"})
    publisher.output(1, 0.0, "x")
    assert not publisher._has_pending()
