"""A tap's live frames carry the session's counts, so pages opened mid-run show true totals."""

from __future__ import annotations

from sessions.tap.publisher import LivePublisher

from .live_bus import RecordingTransport, tap_row


def test_every_frame_with_events_carries_the_counts_of_all_events_so_far():
    transport = RecordingTransport()
    publisher = LivePublisher(transport)
    publisher.start()
    publisher.set_session("s-1", 5, {"agent_name": "a", "started_at": "2026-01-01T00:00:00Z"})
    publisher.events([tap_row(1, "error"), tap_row(2, "warning")])
    transport.wait_for_seq(2)
    publisher.events([tap_row(3, "error")])
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
