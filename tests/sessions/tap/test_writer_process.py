"""WriterProcess with a fake BatchWriter in the real forked child: what crosses the socket."""

import json
from types import SimpleNamespace

from sessions.tap.writer_process import WriterProcess


class FileWriter:
    """A BatchWriter stand-in that logs every call to a file the test reads afterwards."""

    def __init__(self, path, on_session, stored=True):
        self.path, self.on_session, self.stored = path, on_session, stored
        self.spec = SimpleNamespace(pid=None)
        self.spill_path = None
        self.started = False

    def _log(self, *entry):
        with open(self.path, "a") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    def add_events(self, rows):
        self._log("events", [r["seq"] for r in rows])

    def add_state(self, state, metadata, at):
        self._log("state", state, metadata)

    def update_stats(self, **stats):
        self._log("stats", stats)

    def start(self):
        self.started = True
        self._log("start", self.spec.pid)
        self.on_session(SimpleNamespace(session_id="s-1", pk=7))

    def is_alive(self):
        return self.started

    def finish(self, **finish):
        self._log("finish", sorted(finish))
        return self.stored


def log_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_states_and_stats_reach_the_writer_in_order_and_the_session_comes_back(tmp_path):
    path = tmp_path / "log"
    sessions = []
    writer = WriterProcess(
        lambda on_session: FileWriter(path, on_session), on_session=sessions.append
    )
    writer.start()
    writer.add_state("agent_channels", {"hooks": True}, 1.0)
    writer.set_pid(4242)
    writer.add_events([{"seq": 1}, {"seq": 2}])
    writer.update_stats(total_lines_processed=10)
    writer.add_events([{"seq": 3}])
    assert writer.finish(status="completed", timeout=5) is True
    assert log_of(path) == [
        ["state", "agent_channels", {"hooks": True}],
        ["start", 4242],
        ["events", [1, 2]],
        ["stats", {"total_lines_processed": 10}],
        ["events", [3]],
        ["finish", ["status", "timeout"]],
    ]
    assert writer.session.session_id == "s-1" and writer.session.pk == 7
    assert [s.pk for s in sessions] == [7]


def test_the_outcome_not_stored_comes_back(tmp_path):
    writer = WriterProcess(
        lambda on_session: FileWriter(tmp_path / "log", on_session, stored=False)
    )
    writer.start()
    assert writer.finish(timeout=5) is False


def test_an_abandoned_writer_writes_nothing(tmp_path):
    path = tmp_path / "log"
    writer = WriterProcess(lambda on_session: FileWriter(path, on_session))
    writer.start()
    writer.abandon()
    assert not path.exists()
