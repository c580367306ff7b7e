"""A real tap: what the program printed is searchable when the tap returns, by its writer."""

from __future__ import annotations

import pytest

from output_search.models import OutputLine
from output_search.queries import search
from sessions.models import ProcessSession
from tests.sessions.conftest import py, run_tap, tap_env  # noqa: F401 - tap_env is a fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_taps_writer_indexes_output_no_rule_matched(tap_env):  # noqa: F811
    program = py(
        "print('collected 1 item'); print('E       assert 4 == 5'); "
        "print('token sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6 leaked')"
    )
    result = run_tap(tap_env, "--pipe", "--", *program)
    assert result.returncode == 0, result.stderr
    session = ProcessSession.objects.get()
    # Nothing but the tap itself has run: its writer process wrote these rows.
    rows = dict(OutputLine.objects.filter(session=session).values_list("line", "text"))
    assert rows[2] == "E       assert 4 == 5"
    assert [x.line for x in search("assert 4 == 5").lines] == [2]
    # The index holds the redacted stream, as the recording does.
    assert "A1b2C3d4E5f6G7h8I9j0" not in rows[3]
    assert search("A1b2C3d4E5f6G7h8I9j0").lines == []
