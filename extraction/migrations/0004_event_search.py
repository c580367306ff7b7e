"""Text search indexes for `?q=` (extraction/search.py says how they are used).

SQLite: an FTS5 trigram index over (content, rule) of extraction_events, external content keyed
by the event id, with delete/update triggers but no insert trigger (inserts stay fast; queries
catch the index up). The existing rows are indexed here (~16 s per million events).

PostgreSQL: pg_trgm GIN indexes on UPPER(content) and UPPER(rule), the expressions Django's
icontains compares. Without the right to create the extension the migration goes on without
them (searching still works, by scanning).
"""

from django.db import migrations, transaction

FTS = "extraction_events_fts"

SQLITE_FORWARDS = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
    "content, rule, content='extraction_events', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON extraction_events "
    f"WHEN EXISTS (SELECT 1 FROM {FTS}_docsize WHERE id = old.id) BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, content, rule) "
    "VALUES ('delete', old.id, old.content, old.rule); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF content, rule ON extraction_events "
    "WHEN (old.content IS NOT new.content OR old.rule IS NOT new.rule) "
    f"AND EXISTS (SELECT 1 FROM {FTS}_docsize WHERE id = old.id) BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, content, rule) "
    "VALUES ('delete', old.id, old.content, old.rule); "
    f"INSERT INTO {FTS} (rowid, content, rule) VALUES (new.id, new.content, new.rule); END",
    f"INSERT INTO {FTS} (rowid, content, rule) "
    "SELECT id, content, rule FROM extraction_events ORDER BY id",
]
SQLITE_BACKWARDS = [
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
]
POSTGRES_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ee_content_trgm ON extraction_events "
    "USING gin (UPPER(content) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ee_rule_trgm ON extraction_events "
    "USING gin (UPPER(rule) gin_trgm_ops)",
]
POSTGRES_BACKWARDS = [
    "DROP INDEX IF EXISTS ee_content_trgm",
    "DROP INDEX IF EXISTS ee_rule_trgm",
]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for sql in SQLITE_FORWARDS:
                cursor.execute(sql)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            try:
                with transaction.atomic(using=connection.alias):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception as exc:  # noqa: BLE001 - no right to create it: search scans
                print(f"\n  pg_trgm not available ({exc}); ?q= searches will scan")
                return
            for sql in POSTGRES_INDEXES:
                cursor.execute(sql)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRES_BACKWARDS}
    with connection.cursor() as cursor:
        for sql in statements.get(connection.vendor, []):
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("extraction", "0003_query_indexes"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
