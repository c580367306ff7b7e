import django.db.models.deletion
from django.db import migrations, models

# SQLite: an external-content FTS5 table over output_lines.text with the trigram tokenizer
# (SQLite >= 3.34). Trigrams find any substring of 3+ characters,
# punctuation included ("4 == 5"), case-insensitively: the same answers as PostgreSQL's ILIKE.
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE output_lines_fts USING fts5("
    "text, content='output_lines', content_rowid='id', tokenize='trigram')",
    # Rows are added to the FTS table by the indexer, one INSERT … SELECT per batch
    # (output_search/indexer.py): a per-row AFTER INSERT trigger made indexing 5x slower.
    # Deleting (a pruned session) goes row by row through this trigger.
    "CREATE TRIGGER output_lines_ad AFTER DELETE ON output_lines BEGIN "
    "INSERT INTO output_lines_fts(output_lines_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS output_lines_ad",
    "DROP TABLE IF EXISTS output_lines_fts",
]
# PostgreSQL: the search is `text ILIKE '%…%'`, which a trigram GIN index answers.
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS output_lines_text_trgm ON output_lines "
    "USING gin (text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS output_lines_text_trgm"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("tapsessions", "0001_squashed_0003_dropped_events"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutputLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("line", models.BigIntegerField()),
                ("offset_seconds", models.FloatField()),
                ("oseq", models.BigIntegerField()),
                ("byte", models.BigIntegerField()),
                ("col", models.IntegerField(default=0)),
                ("text", models.TextField()),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tapsessions.processsession",
                    ),
                ),
            ],
            options={
                "db_table": "output_lines",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("session", "line"), name="output_lines_session_line"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OutputIndexState",
            fields=[
                (
                    "session",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="tapsessions.processsession",
                    ),
                ),
                ("byte", models.BigIntegerField(default=0)),
                ("clock", models.FloatField(default=0.0)),
                ("lines", models.BigIntegerField(default=0)),
                ("oseq", models.BigIntegerField(default=0)),
                ("partial", models.TextField(blank=True, default="")),
                ("partial_oseq", models.BigIntegerField(default=0)),
                ("partial_byte", models.BigIntegerField(default=0)),
                ("partial_col", models.IntegerField(default=0)),
                ("complete", models.BooleanField(default=False)),
                ("recording_size", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"db_table": "output_index_state"},
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
