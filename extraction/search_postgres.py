"""`?q=` on PostgreSQL: a trigram index kept off the tap's insert path.

pg_trgm GIN indexes on extraction_events cost the tap's writer ~45 % of its time
(bench/bench_persist.py), so the searched text lives in a side table, extraction_events_search
(id, text = upper(content) and upper(rule) on two lines), which carries the GIN index. Migration
0011 makes these objects:

* An INSERT or COPY into extraction_events records the id range it added in
  extraction_events_search_backlog: one row per statement (a statement trigger over the new
  rows), however many rows it added.
* `catch_up()` moves backlog ranges into the side table. It runs before each q query (a bounded
  number of rows) and in the server's liveness sweep, so a search rarely pays for it.
* A query's candidates are the side table's matches plus every row of the ranges still in the
  backlog: a batch's backlog row commits with its events, and a catch-up moves rows from one
  to the other in one commit, so no row falls between the two.
  The query keeps its icontains filter on extraction_events, so its answer is exactly
  icontains'.

Why a backlog and not SQLite's high-water mark (extraction/search.py): ids come from a sequence,
and concurrent writers (several taps) commit out of id order, so a row below the highest indexed
id can still appear later. An edit of content or rule puts the id in the backlog again (a row
trigger); a delete removes side rows; TRUNCATE (a test's flush) empties both. A side row left
stale by anything else can only add a candidate that the re-check drops.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import Q

logger = logging.getLogger(__name__)

TABLE = "extraction_events"
SIDE = "extraction_events_search"
BACKLOG = "extraction_events_search_backlog"
# What the side table holds for an event (the migration's fill uses the same expression).
TEXT_SQL = "upper(content) || E'\\n' || upper(rule)"
# The trigram index cannot match fewer than three characters.
MIN_INDEXED_CHARS = 3
# Rows one catch-up before a query indexes at most: ~0.2 s (~26,000 rows/s into the GIN index
# on a 2-core machine); the ranges it leaves are candidates all the same.
CATCH_UP_ROWS = 5_000
# Rows the server's liveness sweep indexes a round (every half heartbeat, 15 s by default).
SWEEP_ROWS = 100_000
# Above this many rows (or ranges) still in the backlog, a query takes the plain icontains
# walk instead of listing them all as candidates.
MAX_PENDING_ROWS = 50_000
MAX_PENDING_RANGES = 1_000
# A term the planner expects to match this many times the frequent threshold is taken as
# frequent without a probe (its estimates were within 10-50 % on the API benchmark's terms).
FREQUENT_ESTIMATE_FACTOR = 2
# How long a catch-up waits for a row lock (another catch-up's) before leaving the work.
LOCK_TIMEOUT_MS = 100
# Backlog rows one catch-up round takes (merged into runs, one statement per run).
RANGES_PER_ROUND = 10_000

UPSERT_SQL = (
    f"WITH moved AS (INSERT INTO {SIDE} (id, text) "
    f"SELECT id, {TEXT_SQL} FROM {TABLE} WHERE id BETWEEN %s AND %s ORDER BY id LIMIT %s "
    "ON CONFLICT (id) DO UPDATE SET text = excluded.text RETURNING id) "
    "SELECT count(*), max(id) FROM moved"
)
PENDING_ROWS_SQL = f"SELECT coalesce(sum(last_id - first_id + 1), 0) FROM {BACKLOG}"
RANGES_SQL = f"SELECT first_id, last_id FROM {BACKLOG} ORDER BY id LIMIT %s"
MATCHES_SQL = f"SELECT id FROM {SIDE} WHERE text LIKE upper(%s) LIMIT %s"


def has_index(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True on PostgreSQL once migration 0011 made the side table (it needs pg_trgm)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [SIDE])
        return cursor.fetchone()[0]


def catch_up(
    using: str = DEFAULT_DB_ALIAS,
    max_rows: int = CATCH_UP_ROWS,
    lock_timeout_ms: int | None = LOCK_TIMEOUT_MS,
) -> int | None:
    """Index up to `max_rows` rows of the backlog; return how many rows it still holds (an
    upper bound: ranges may cover ids no row has). None where there is no side table.

    Backlog rows another catch-up is working on are skipped, not waited for. A failure (a lock
    held past `lock_timeout_ms`, a read-only database) leaves the work to a later catch-up:
    the caller's query stays complete, since it reads what is left of the backlog too.
    `lock_timeout_ms=None` waits as long as the connection's own timeout, and raises.
    """
    if not has_index(using):
        return None
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(PENDING_ROWS_SQL)
        if cursor.fetchone()[0] == 0:
            return 0
        try:
            with _lock_timeout(connection, cursor, lock_timeout_ms):
                _move(cursor, max_rows)
        except DatabaseError as exc:
            if lock_timeout_ms is None:
                raise
            locked = "lock" in str(exc)
            logger.log(logging.INFO if locked else logging.WARNING, "search catch-up: %s", exc)
        cursor.execute(PENDING_ROWS_SQL)
        return cursor.fetchone()[0]


@contextmanager
def _lock_timeout(connection, cursor, milliseconds: int | None):
    """A transaction (a savepoint inside the caller's) with its own lock timeout; an outer
    transaction gets its own timeout back after it."""
    outer = connection.in_atomic_block
    previous = None
    if milliseconds is not None and outer:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
    try:
        with transaction.atomic(using=connection.alias):
            if milliseconds is not None:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])
            yield
    finally:
        if previous is not None and not connection.needs_rollback:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def _move(cursor, max_rows: int) -> None:
    """Move up to `max_rows` rows of backlog ranges into the side table (in the caller's
    transaction). The ranges taken leave the backlog; what a cut-short round did not reach
    goes back as one range per merged run."""
    left = max_rows
    while left > 0:
        cursor.execute(
            f"SELECT id, first_id, last_id FROM {BACKLOG} ORDER BY id LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            [RANGES_PER_ROUND],
        )
        taken = cursor.fetchall()
        if not taken:
            return
        unreached = []
        for first_id, last_id in merged_ranges((first, last) for _, first, last in taken):
            if left <= 0:
                unreached.append((first_id, last_id))
                continue
            cursor.execute(UPSERT_SQL, [first_id, last_id, left])
            moved, last_moved = cursor.fetchone()
            left -= moved
            if left <= 0 and last_moved is not None and last_moved < last_id:
                unreached.append((last_moved + 1, last_id))
        cursor.execute(f"DELETE FROM {BACKLOG} WHERE id = ANY(%s)", [[row[0] for row in taken]])
        if unreached:
            cursor.executemany(
                f"INSERT INTO {BACKLOG} (first_id, last_id) VALUES (%s, %s)", unreached
            )
        if len(taken) < RANGES_PER_ROUND:
            return


def _estimated_matches(explained) -> float:
    """The rows EXPLAIN (FORMAT JSON) expects below the LIMIT (0 if the plan is not shaped
    as expected: the probe then decides)."""
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    while plan.get("Node Type") == "Limit" and plan.get("Plans"):
        plan = plan["Plans"][0]
    return 0 if plan.get("Node Type") == "Limit" else plan.get("Plan Rows", 0)


def merged_ranges(ranges) -> list[tuple[int, int]]:
    """Inclusive id ranges, sorted, with overlapping or adjacent ones joined: a writer's
    executemany leaves one single-row range per statement, which are caught up as one."""
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(first, last) for first, last in merged]


def catch_up_all(using: str = DEFAULT_DB_ALIAS, batch: int = 50_000) -> None:
    """Index every event stored so far, `batch` rows per transaction (taps slip in between)."""
    pending = catch_up(using, batch, lock_timeout_ms=None)
    while pending:
        before, pending = pending, catch_up(using, batch, lock_timeout_ms=None)
        if pending >= before:  # other catch-ups hold the rest
            return


def candidates(q: str, frequent_after, using: str = DEFAULT_DB_ALIAS) -> Q | None:
    """A filter on the ids of the events that may contain `q` (a superset: the caller keeps
    its icontains filter), or None for the plain icontains walk along a time index: q too
    short for a trigram, no side table, a backlog too long to list, or a frequent term (more
    than `frequent_after(events)` matches in the side table, where the walk finds a page
    sooner). The choice is made here, not by the planner: it takes the icontains filter and
    a subquery on the side table as independent and misjudges a frequent term as rare.

    The backlog's ranges are read before the side table: a catch-up committing in between
    only moves rows from ranges already listed into the side table. A batch committed after
    the first read may be left out, as if the request had come a moment earlier.
    """
    if len(q) < MIN_INDEXED_CHARS or catch_up(using, CATCH_UP_ROWS) is None:
        return None
    connection = connections[using]
    pattern = f"%{connection.ops.prep_for_like_query(q)}%"
    with connection.cursor() as cursor:
        cursor.execute(RANGES_SQL, [MAX_PENDING_RANGES + 1])
        ranges = cursor.fetchall()
        if len(ranges) > MAX_PENDING_RANGES:
            return None
        runs = merged_ranges(ranges)
        if sum(last - first + 1 for first, last in runs) > MAX_PENDING_ROWS:
            return None
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {TABLE}")
        threshold = frequent_after(cursor.fetchone()[0])
        # The planner's estimate from the trigram statistics (well under a millisecond) spares
        # a clearly frequent term the probe, which fetches `threshold` rows (~15 ms at 11,000).
        cursor.execute(f"EXPLAIN (FORMAT JSON) {MATCHES_SQL}", [pattern, threshold + 1])
        if _estimated_matches(cursor.fetchone()[0]) > FREQUENT_ESTIMATE_FACTOR * threshold:
            return None
        cursor.execute(MATCHES_SQL, [pattern, threshold + 1])
        matches = [row[0] for row in cursor.fetchall()]
    if len(matches) > threshold:
        return None
    ids = Q(id__in=matches)
    for first, last in runs:
        ids |= Q(id__range=(first, last))
    return ids
