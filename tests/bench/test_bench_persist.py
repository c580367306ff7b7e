"""bench/bench_persist.py measures what it says: the tap's own rows, every one of them stored."""

import re
import subprocess
import sys

from bench.bench_persist import build_rows
from extraction.engine.fingerprint import ROW_KEY, Fingerprints
from extraction.groups import GROUPED_TYPES

from ..processes import ROOT


def test_its_rows_carry_the_fingerprints_the_taps_extraction_process_gives_them():
    rows = build_rows(3_000)
    grouped = [row for row in rows if row["event_type"] in GROUPED_TYPES]
    assert grouped and len(grouped) < len(rows)
    fingerprints = Fingerprints()
    assert all(row[ROW_KEY] == fingerprints.of(row) for row in grouped)
    assert not any(ROW_KEY in row for row in rows if row["event_type"] not in GROUPED_TYPES)


def test_every_sqlite_method_stores_every_row():
    result = subprocess.run(
        [sys.executable, "bench/bench_persist.py", "--events", "2000", "--backends", "sqlite"]
        + ["--batches", "100"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stored = dict(
        re.findall(r"^  sqlite\s+(\S+)\s+batch\s+100:.*, ([\d,]+) stored\)$", result.stdout, re.M)
    )
    assert stored == {
        "inserter": "2,000",
        "bulk_create": "2,000",
        "engine": "2,000",
        "engine-unindexed": "2,000",
    }
