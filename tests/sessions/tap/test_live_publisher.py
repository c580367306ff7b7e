"""LivePublisher with a fake transport: what frames it sends, and that it never blocks."""

from sessions.tap.publisher import LivePublisher, NullTransport
from tests.sessions.live_bus import RecordingTransport, tap_row


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
