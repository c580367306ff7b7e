"""Does the tap's per-line cost grow with the session? 10k to 10M lines through one tap.

    .venv/bin/python bench/bench_scale.py [--sizes 10000,100000,1000000,10000000]

Each size is bench_extractor's input (~95-byte lines, ~5 % events) through
`tap --pipe --no-live -- cat FILE` into a fresh SQLite data directory, timed to the tap's own
end (every event committed). Figures per size: wall and CPU time of the whole process tree,
lines and events per second of wall time and per CPU-second, and the SQLite file (database + WAL
after the tap exits, its WAL checkpointed) split into output search's index of every printed
line and the rest (the pages of the event tables and their indexes, by dbstat, less the freshly
migrated database's; free pages left out); the
latter against the raw text of its events (content + context, as stored), and per
event: 10 M lines make ~500 k events; the issue's "10 M events" would need 200 M lines (19 GB of
input), so the bytes per event across sizes show whether the ratio holds as the table grows.

Targets (issue 19.5): events/s per tap flat from 10 k to 10 M lines (no growth in per-line cost:
the largest size's events per CPU-second ≥ 0.8× the 100 k size's; 10 k is dominated by start-up
and shown for reference) and the SQLite file for the largest size within 2× its raw event text.
Where that is missed, the largest size's bytes per event are printed by table, index and column:
the remaining cost as a profile.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MANAGE, PYTHON, clean_env, generated_input, loadavg, sqlite_path  # noqa: E402
from bench_tap import fresh_data_dir, run_measured, tap_stats  # noqa: E402

FLAT_FLOOR = 0.8  # largest size's events per CPU-s over the 100 k size's
SIZE_CEILING = 2.0  # SQLite file over raw event text


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    return parser.parse_args()


OUTPUT_INDEX_TABLES = ("output_lines", "output_index_state")


def database_bytes(data: Path) -> dict:
    """Bytes on disk once the WAL is folded in: the whole file, and split into the events' tables
    (with their indexes) and output search's index of every printed line (its own feature: it
    grows with the output, not with the events)."""
    db = sqlite_path(data)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        by_table = conn.execute(
            "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
        ).fetchall()
    finally:
        conn.close()
    sizes = {"file": sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))}
    sizes["output_index"] = sum(n for t, n in by_table if t.startswith(OUTPUT_INDEX_TABLES))
    # The tables' and indexes' own pages: the file's free pages (which varied by a third of the
    # events' growth between two runs of the same input) are nobody's.
    sizes["events"] = sum(n for t, n in by_table if not t.startswith(OUTPUT_INDEX_TABLES))
    return sizes


def event_table_profile(data: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Where the event tables' bytes go: each table and index outside output search (bytes on
    disk, dbstat), and the events table's bytes by column (stored length of each value)."""
    conn = sqlite3.connect(f"file:{sqlite_path(data)}?mode=ro", uri=True)
    try:
        objects = conn.execute(
            "SELECT d.name, coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY d.name ORDER BY 3 DESC"
        ).fetchall()
        objects = [
            (n, size) for n, table, size in objects if not table.startswith(OUTPUT_INDEX_TABLES)
        ]
        names = [row[1] for row in conn.execute("PRAGMA table_info(extraction_events)")]
        sums = ", ".join(f"coalesce(sum(length(CAST({n} AS BLOB))), 0)" for n in names)
        stored = conn.execute(f"SELECT {sums} FROM extraction_events").fetchone()
        columns = list(zip(names, stored, strict=True))
    finally:
        conn.close()
    return objects, sorted(columns, key=lambda c: -c[1])


def event_text_bytes(data: Path) -> int:
    conn = sqlite3.connect(f"file:{sqlite_path(data)}?mode=ro", uri=True)
    try:
        (text,) = conn.execute(
            "SELECT coalesce(sum(length(CAST(content AS BLOB)) + length(CAST(context AS BLOB))), 0)"
            " FROM extraction_events"
        ).fetchone()
    finally:
        conn.close()
    return text


def one_size(lines: int, scratch: Path) -> dict:
    src = generated_input(lines)
    data = fresh_data_dir(scratch, f"scale-{lines}")
    empty = database_bytes(data)
    cat = shutil.which("cat") or "/bin/cat"
    run = run_measured(
        [PYTHON, MANAGE, "tap", "--pipe", "--no-live", "--", cat, str(src)],
        env=clean_env(STREAMTAP_DATA_DIR=str(data)),
    )
    run.update(tap_stats(data))
    sizes = database_bytes(data)
    run["db_bytes"], run["output_index_bytes"] = sizes["file"], sizes["output_index"]
    run["event_text_bytes"] = event_text_bytes(data)
    run["grown_bytes"] = sizes["events"] - empty["events"]
    run["objects"], run["columns"] = event_table_profile(data)
    shutil.rmtree(data, ignore_errors=True)
    return run


def main() -> None:
    args = parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="streamtap-scale-"))
    print(f"load average before: {loadavg()}", flush=True)
    rows = {}
    try:
        for lines in sizes:
            r = rows[lines] = one_size(lines, scratch)
            print(
                f"{lines:>10,} lines: {r['wall']:.2f} s wall, {r['cpu']:.2f} CPU-s, "
                f"{r['events_stored']:,} events",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print()
    header = (
        "| lines | events stored | wall s | CPU s | lines/s | events/s | events per CPU-s "
        "| µs CPU per line | SQLite MB | of it output search MB | event tables grown by MB "
        "| event text MB | growth / text | bytes per event |"
    )
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    for lines, r in rows.items():
        events = r["events_stored"]
        print(
            f"| {lines:,} | {events:,} | {r['wall']:.2f} | {r['cpu']:.2f} "
            f"| {lines / r['wall']:,.0f} | {events / r['wall']:,.0f} | {events / r['cpu']:,.0f} "
            f"| {r['cpu'] / lines * 1e6:.1f} "
            f"| {r['db_bytes'] / 1e6:.1f} | {r['output_index_bytes'] / 1e6:.1f} "
            f"| {r['grown_bytes'] / 1e6:.1f} "
            f"| {r['event_text_bytes'] / 1e6:.1f} "
            f"| {r['grown_bytes'] / max(1, r['event_text_bytes']):.2f} "
            f"| {r['grown_bytes'] / max(1, events):,.0f} |"
        )
    print()
    largest = rows[max(rows)]
    base_size = 100_000 if 100_000 in rows and max(rows) > 100_000 else min(rows)
    base = rows[base_size]
    ratio = (largest["events_stored"] / largest["cpu"]) / (base["events_stored"] / base["cpu"])
    mark = "✓" if ratio >= FLAT_FLOOR else "✗"
    print(
        f"- events per CPU-s at {max(rows):,} lines {ratio:.2f}× those at {base_size:,} "
        f"(flat: ≥ {FLAT_FLOOR}×, issue 19.5) {mark}"
    )
    # The remaining cost named with a profile (issue 19): bytes per event, largest size.
    events = max(1, largest["events_stored"])
    top = [(name, size) for name, size in largest["objects"] if size / events >= 8]
    print(
        f"- where the event tables' bytes go at {max(rows):,} lines, per event (on disk; ≥ 8 B): "
        + ", ".join(f"{name} {size / events:,.0f}" for name, size in top)
    )
    print(
        "- the events table's stored values per event, by column (≥ 4 B): "
        + ", ".join(
            f"{name} {size / events:,.0f}"
            for name, size in largest["columns"]
            if size / events >= 4
        )
    )
    size_ratio = largest["grown_bytes"] / max(1, largest["event_text_bytes"])
    mark = "✓" if size_ratio <= SIZE_CEILING else "✗"
    print(
        f"- SQLite event tables' growth at {max(rows):,} lines {size_ratio:.2f}× the raw event text "
        f"(≤ {SIZE_CEILING}×, issue 19.5) {mark}"
    )


if __name__ == "__main__":
    main()
