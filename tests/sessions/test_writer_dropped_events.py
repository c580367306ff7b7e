"""Events the tap drops before its writer has them are the session's dropped_events (18.9)."""

from sessions.tap.writer_process import WriterProcess
from tests.sessions.tap.test_writer_process import FileWriter, log_of


def test_the_outboxs_drops_reach_the_writer_as_a_stat_before_the_finish(tmp_path):
    path = tmp_path / "log"
    writer = WriterProcess(lambda on_session: FileWriter(path, on_session))
    writer.start()
    writer.set_pid(4242)
    writer.add_events([{"seq": 1}])
    # What the outbox's bound counts when the writer process lags behind a flood.
    writer.dropped_events = 3
    assert writer.finish(status="failed", timeout=5) is True
    entries = log_of(path)
    assert ["stats", {"dropped_events": 3}] in entries
    assert entries.index(["stats", {"dropped_events": 3}]) < len(entries) - 1
    assert entries[-1][0] == "finish"


def test_no_drops_send_no_stat(tmp_path):
    path = tmp_path / "log"
    writer = WriterProcess(lambda on_session: FileWriter(path, on_session))
    writer.start()
    writer.set_pid(4242)
    assert writer.finish(status="completed", timeout=5) is True
    assert not [e for e in log_of(path) if e[0] == "stats"]
