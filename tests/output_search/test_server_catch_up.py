"""The server indexes what a tap's writer left: a real daphne, its sweep, no search asked.

A tap whose writer falls behind (a flood) leaves its output's search index to the server. Here
the index of a real tap's session is emptied, as such a writer leaves it, and the server's
sweep (every half heartbeat) brings it to the end of the recording by itself.
"""

from __future__ import annotations

import sys
import urllib.request

import pytest

from tests.e2e.conftest import running_server
from tests.helpers import wait_for

pytestmark = pytest.mark.slow

LINES = 3000
STATE = (
    "from output_search.models import OutputIndexState, OutputLine; "
    "s = OutputIndexState.objects.first(); "
    "print(OutputLine.objects.count(), bool(s and s.complete))"
)


def test_the_servers_sweep_indexes_an_ended_sessions_output_the_writer_left(tmp_path):
    with running_server(tmp_path / "server", STREAMTAP_HEARTBEAT_SECONDS="1") as server:
        child = f"for i in range({LINES}): print(f'build step {{i}} done')"
        server.manage("tap", "--pipe", "--no-live", "--", sys.executable, "-c", child)
        server.shell(
            "from output_search.models import OutputIndexState, OutputLine; "
            "OutputLine.objects.all().delete(); OutputIndexState.objects.all().delete()"
        )
        # Nothing but the server runs now: only its sweep can bring the index back.
        urllib.request.urlopen(f"{server.base_url}/login/").read()  # starts the sweep
        wait_for(
            lambda: server.shell(STATE).split() == [str(LINES), "True"],
            timeout=60,
            what="the server's sweep to index the session's output",
            interval=0.5,
        )
