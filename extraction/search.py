"""Text search over events (`?q=`): case-insensitive substring of the content or the rule.

On PostgreSQL this is `icontains` (UPPER(...) LIKE) narrowed by a pg_trgm index kept off the
insert path (extraction/search_postgres.py). On SQLite a LIKE has no index to use: a `q` that matches
few events walked the whole table (0.5 s at 1M events). So SQLite keeps an FTS5 index with the
trigram tokenizer over (content, rule), an external-content table keyed by the event id:

* Inserting events costs nothing extra: there is no insert trigger (the tap's writer must
  stay fast). The index is brought up to date lazily by `catch_up()`, which indexes the rows
  above the highest indexed id and runs before each q query; with nothing new it is one read.
  Ids only grow (AUTOINCREMENT), so "above the highest indexed id" is exactly "not indexed".
* Deleting or editing an event (prune, a cascade, the admin) is rare, so triggers do keep the
  index exact there: an external-content FTS5 index can only drop a row while its old text is
  known, which is at delete time.
* A query joins the index back to extraction_events and re-checks the LIKE, so its answer is
  exactly `icontains` (ASCII case folding, as SQLite's LIKE), whatever the index holds; rows
  the catch-up has not reached yet (a busy writer kept the lock) are matched by LIKE over the
  id range above the indexed one.

The index finds the matching ids; the rows then come sorted by (timestamp, id). That is fast
for a rare term and slow for a frequent one (sorting 400,000 matches of "error"), while the
plain LIKE walk along the time index is the opposite: it stops after `limit` matches. A probe
of the index picks the cheaper of the two (`indexed_matches()`).
"""

from __future__ import annotations

import json
import logging
import math
from contextlib import contextmanager, nullcontext

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.sql.datastructures import BaseTable

from . import search_postgres

logger = logging.getLogger(__name__)

TABLE = "extraction_events"
FTS = "extraction_events_fts"
# One row per indexed event (FTS5's own shadow table): its largest id is the high-water mark.
DOCSIZE = f"{FTS}_docsize"
# The trigram tokenizer cannot match fewer than three characters.
MIN_INDEXED_CHARS = 3
# Rows one catch-up indexes at most (~60,000 rows/s): a request after a burst of inserts pays
# a bounded delay, and the LIKE over the unindexed rest keeps its answer complete.
CATCH_UP_ROWS = 10_000
# How long a catch-up waits for the write lock before leaving the work to the next query.
CATCH_UP_BUSY_MS = 100

# The migration creates the table and these triggers; post_migrate re-creates the triggers if
# a later migration rebuilt the table (see ensure_triggers). Only rows that are in the index are
# removed from it: FTS5 needs the exact old text of an external-content row, and a 'delete' of
# a row it never saw would corrupt the index.
TRIGGER_SQL = [
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON {TABLE} "
    f"WHEN EXISTS (SELECT 1 FROM {DOCSIZE} WHERE id = old.id) BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, content, rule) "
    f"VALUES ('delete', old.id, old.content, old.rule); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF content, rule ON {TABLE} "
    f"WHEN (old.content IS NOT new.content OR old.rule IS NOT new.rule) "
    f"AND EXISTS (SELECT 1 FROM {DOCSIZE} WHERE id = old.id) BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, content, rule) "
    f"VALUES ('delete', old.id, old.content, old.rule); "
    f"INSERT INTO {FTS} (rowid, content, rule) VALUES (new.id, new.content, new.rule); END",
]
HIGH_WATER_SQL = f"SELECT coalesce(max(id), 0) FROM {DOCSIZE}"
CATCH_UP_SQL = (
    f"INSERT INTO {FTS} (rowid, content, rule) SELECT id, content, rule FROM {TABLE} "
    f"WHERE id > ({HIGH_WATER_SQL}) ORDER BY id LIMIT %s"
)


def has_index(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True on SQLite once the migration has created the FTS table."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS])
        return cursor.fetchone() is not None


def ensure_triggers(using: str = DEFAULT_DB_ALIAS) -> None:
    """Re-create the triggers if a migration rebuilt extraction_events (SQLite's ALTER TABLE
    copies the table, and dropping the old one drops its triggers). Run after `migrate`."""
    if has_index(using):
        with connections[using].cursor() as cursor:
            for sql in TRIGGER_SQL:
                cursor.execute(sql)


@contextmanager
def _busy_timeout(connection, milliseconds: int):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")


def _state(cursor) -> tuple[int, int]:
    cursor.execute(f"SELECT ({HIGH_WATER_SQL}), (SELECT coalesce(max(id), 0) FROM {TABLE})")
    high_water, newest = cursor.fetchone()
    return high_water, newest


def catch_up(
    using: str = DEFAULT_DB_ALIAS,
    max_rows: int = CATCH_UP_ROWS,
    busy_ms: int | None = CATCH_UP_BUSY_MS,
) -> int | None:
    """Index up to `max_rows` events above the high-water mark; return the new mark.

    None where there is no index (PostgreSQL, or before the migration). One read when the
    index is up to date. If another connection holds the write lock for longer than `busy_ms`,
    nothing is indexed this time: the caller's query stays complete (rows above the mark are
    matched by LIKE) and a later catch-up does the work. `busy_ms=None` waits as long as the
    connection's own timeout.
    """
    state = _catch_up(using, max_rows, busy_ms)
    return None if state is None else state[0]


def _catch_up(using: str, max_rows: int, busy_ms: int | None) -> tuple[int, int] | None:
    """catch_up(), returning (high-water mark, newest id)."""
    if not has_index(using):
        return None
    connection = connections[using]
    with connection.cursor() as cursor:
        high_water, newest = _state(cursor)
        if newest <= high_water:
            return high_water, newest
        try:
            with (
                _busy_timeout(connection, busy_ms) if busy_ms is not None else nullcontext(),
                transaction.atomic(using=using),
            ):
                cursor.execute(CATCH_UP_SQL, [max_rows])
        except OperationalError as exc:
            # A search must not fail because the index could not be written (locked, or a
            # read-only database file): its answer is complete without the catch-up.
            if busy_ms is None:
                raise
            busy = "locked" in str(exc) or "busy" in str(exc)
            logger.log(logging.INFO if busy else logging.WARNING, "search index catch-up: %s", exc)
        return _state(cursor)


def catch_up_all(using: str = DEFAULT_DB_ALIAS, batch: int = 50_000) -> None:
    """Index every event stored so far, `batch` rows per transaction (taps slip in between)."""
    if connections[using].vendor == "postgresql":
        search_postgres.catch_up_all(using, batch)
        return
    if not has_index(using):
        return
    with connections[using].cursor() as cursor:
        high_water, newest = _state(cursor)
    while high_water < newest:
        before, high_water = high_water, catch_up(using, batch, busy_ms=None)
        if high_water <= before:  # the rest was deleted meanwhile
            return


def catch_up_in_background(using: str = DEFAULT_DB_ALIAS) -> None:
    """The server's sweep keeps PostgreSQL's side table caught up, so a search after a busy
    hour does not pay for it. Not SQLite's index: its catch-up takes the write lock that the
    taps' writers need, so it is left to the searches."""
    if connections[using].vendor == "postgresql":
        search_postgres.catch_up(using, search_postgres.SWEEP_ROWS)


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: every character literal, a `"` doubled."""
    return '"' + text.replace('"', '""') + '"'


def text_filter(q: str) -> Q:
    """The search's meaning, on every backend: q is in the content or in the rule."""
    return Q(content__icontains=q) | Q(rule__icontains=q)


def frequent_after(limit: int, events: int) -> int:
    """Above this many matches a term is frequent: the LIKE walk finds a page sooner."""
    return max(1000, math.isqrt((limit + 1) * max(events, 1) // 4))


def indexed_matches(q: str, limit: int, using: str = DEFAULT_DB_ALIAS):
    """(ids the FTS index matches, high-water mark) if the index should answer `q`; None for
    the plain LIKE walk (q too short, no index, or a frequent term).

    The index pays per match (each row is fetched and sorted: ~2 µs), the walk per row it
    passes (~0.4 µs) until it has `limit` matches: about limit * N / matches rows. They cost
    the same near matches = sqrt(limit * N / 4), where the probe stops counting.
    """
    if len(q) < MIN_INDEXED_CHARS:
        return None
    state = _catch_up(using, CATCH_UP_ROWS, CATCH_UP_BUSY_MS)
    if state is None:
        return None
    high_water, newest = state
    threshold = frequent_after(limit, newest)
    if newest - high_water > threshold:
        return None  # catch-up is far behind (the writer kept the lock): every row a candidate
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s LIMIT %s",
            [fts_phrase(q), threshold + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return (ids, high_water) if len(ids) <= threshold else None


def search(queryset, q: str, *, limit: int = 50):
    """`queryset` narrowed to events whose content or rule contains `q`, case-insensitively.

    `limit` is the page size the caller will take (it only steers which plan is used).
    """
    if connections[queryset.db].vendor == "postgresql":
        queryset = queryset.filter(text_filter(q))
        candidates = search_postgres.candidates(
            q, lambda events: frequent_after(limit, events), queryset.db
        )
        return queryset if candidates is None else queryset.filter(candidates)
    found = indexed_matches(q, limit, queryset.db)
    queryset = queryset.filter(text_filter(q))
    if found is None:
        return queryset
    ids, high_water = found
    # The candidates are one IN over the rowid: the index's matches (passed as one JSON array,
    # so the phrase is not matched twice), plus any row not indexed yet. SQLite must fetch
    # those rows by id and sort them, not walk another index and test each row: without
    # statistics it takes `agent = ?` for ten rows and would walk all of a busy agent's events
    # (seconds). NOT INDEXED leaves it the rowid alone, for every filter added later too (the
    # paginator's cursor).
    candidates = RawSQL(
        f"SELECT value FROM json_each(%s) UNION ALL SELECT id FROM {TABLE} WHERE id > %s",
        (json.dumps(ids), high_water),
    )
    queryset = queryset.filter(id__in=candidates)
    query = queryset.query
    alias = query.get_initial_alias()
    query.alias_map[alias] = NotIndexedTable(query.alias_map[alias].table_name, alias)
    query.base_table_class = NotIndexedTable
    return queryset


class NotIndexedTable(BaseTable):
    """The query's main table as `"table" NOT INDEXED` (SQLite): rowid lookups only."""

    def as_sql(self, compiler, connection):
        sql, params = super().as_sql(compiler, connection)
        return f"{sql} NOT INDEXED", params
