"""PostgreSQL: the `?q=` trigram index leaves extraction_events for a side table that queries
catch up (issue 19.4; extraction/search_postgres.py says how it is read and kept exact).

The GIN indexes ee_content_trgm and ee_rule_trgm were ~45 % of the tap's writer's time on
PostgreSQL (bench_persist.py). Now an INSERT or COPY into extraction_events only records the
id range it added (one backlog row per statement, however many rows), and the trigram index
lives on extraction_events_search(id, text), filled from that backlog before a search.

A database without pg_trgm (no right to create the extension) had no trigram indexes and gets
nothing here either: `?q=` scans, as before. SQLite is untouched (its FTS5 index is already
caught up lazily).
"""

from django.db import migrations

SIDE = "extraction_events_search"
BACKLOG = "extraction_events_search_backlog"

TRIGGERS = ("added", "edited", "removed", "truncated")


def trigger(name: str, when: str, body: str) -> list[str]:
    """A PL/pgSQL trigger function running ``body``, and the trigger that calls it ``when``."""
    function = f"{SIDE}_{name}"
    return [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$",
        f"CREATE TRIGGER {function} {when} EXECUTE FUNCTION {function}()",
    ]


FORWARDS = [
    # The searched text: upper(content) and upper(rule) on two lines (a match across the two
    # is only a candidate, which the query's re-check on extraction_events drops).
    f"CREATE TABLE {SIDE} (id bigint PRIMARY KEY, text text NOT NULL)",
    f"CREATE TABLE {BACKLOG} (id bigserial PRIMARY KEY, "
    "first_id bigint NOT NULL, last_id bigint NOT NULL)",
    *trigger(
        "added",
        "AFTER INSERT ON extraction_events REFERENCING NEW TABLE AS added FOR EACH STATEMENT",
        f"INSERT INTO {BACKLOG} (first_id, last_id) "
        "SELECT min(id), max(id) FROM added HAVING count(*) > 0;",
    ),
    *trigger(
        "edited",
        "AFTER UPDATE OF content, rule ON extraction_events FOR EACH ROW "
        "WHEN (OLD.content IS DISTINCT FROM NEW.content OR OLD.rule IS DISTINCT FROM NEW.rule)",
        f"INSERT INTO {BACKLOG} (first_id, last_id) VALUES (NEW.id, NEW.id);",
    ),
    *trigger(
        "removed",
        "AFTER DELETE ON extraction_events REFERENCING OLD TABLE AS removed FOR EACH STATEMENT",
        f"DELETE FROM {SIDE} WHERE id IN (SELECT id FROM removed);",
    ),
    *trigger(
        "truncated",
        "AFTER TRUNCATE ON extraction_events FOR EACH STATEMENT",
        f"TRUNCATE {SIDE}, {BACKLOG};",
    ),
    # The events stored so far, then the index over them (faster than indexing row by row).
    f"INSERT INTO {SIDE} (id, text) SELECT id, upper(content) || E'\\n' || upper(rule) "
    "FROM extraction_events",
    f"CREATE INDEX ees_text_trgm ON {SIDE} USING gin (text gin_trgm_ops)",
    f"ANALYZE {SIDE}",  # a query's plan is chosen by its trigram estimates
    "DROP INDEX IF EXISTS ee_content_trgm",
    "DROP INDEX IF EXISTS ee_rule_trgm",
    # The dropped indexes' expressions gave the planner statistics for icontains' filters;
    # without them it took `UPPER(content) LIKE '%x%'` as matching almost nothing and scanned
    # the table for a frequent term (450 ms instead of 12 at 1M events).
    "CREATE STATISTICS IF NOT EXISTS ee_search_text_stats "
    "ON (upper(content)), (upper((rule)::text)) FROM extraction_events",
    "ANALYZE extraction_events",
]

BACKWARDS = [
    "DROP STATISTICS IF EXISTS ee_search_text_stats",
    "CREATE INDEX IF NOT EXISTS ee_content_trgm ON extraction_events "
    "USING gin (UPPER(content) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ee_rule_trgm ON extraction_events "
    "USING gin (UPPER(rule) gin_trgm_ops)",
    *(f"DROP TRIGGER IF EXISTS {SIDE}_{name} ON extraction_events" for name in TRIGGERS),
    *(f"DROP FUNCTION IF EXISTS {SIDE}_{name}()" for name in TRIGGERS),
    f"DROP TABLE IF EXISTS {SIDE}, {BACKLOG}",
]


def has_trigram(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def run(statements):
    def operation(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or not has_trigram(connection):
            return
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [("extraction", "0010_ascending_time_indexes")]

    operations = [migrations.RunPython(run(FORWARDS), run(BACKWARDS), elidable=False)]
