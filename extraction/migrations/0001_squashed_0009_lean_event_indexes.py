"""Extraction's schema as it stands after 0001_initial … 0009_lean_event_indexes, built directly
(issue 18: one migration per app; no index is added only to be dropped again).

Besides the models' tables and indexes it creates what 0004_event_search did for `?q=`
(extraction/search.py says how they are used):

SQLite: an FTS5 trigram index over (content, rule) of extraction_events, external content keyed
by the event id, with delete/update triggers but no insert trigger (inserts stay fast; queries
catch the index up).

PostgreSQL: pg_trgm GIN indexes on UPPER(content) and UPPER(rule), the expressions Django's
icontains compares. Without the right to create the extension the migration goes on without
them (searching still works, by scanning).

A database that applied all nine old migrations is simply marked as having this one.
A database part-way through the old chain must first be migrated to its end by a checkout from
before the squash (`git log --diff-filter=D -- */migrations/` finds it): the old files are gone.
"""

from django.conf import settings
from django.db import migrations, models, transaction
from django.db.models.deletion import CASCADE, DO_NOTHING, SET_NULL
from django.utils.timezone import now

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


def search_forwards(apps, schema_editor):
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


def search_backwards(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRES_BACKWARDS}
    with connection.cursor() as cursor:
        for sql in statements.get(connection.vendor, []):
            cursor.execute(sql)


def table(name, db_table, fields, **options):
    """A model with Django's big-integer id, stored in `db_table`."""
    key = models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )
    return migrations.CreateModel(name, [("id", key), *fields], {"db_table": db_table, **options})


def choices(*values):
    """Choices labelled as Django's TextChoices label them ("false_positive": "False Positive")."""
    return [(value, value.replace("_", " ").title()) for value in values]


def optional(to, related_name, on_delete=SET_NULL, **options):
    """A nullable foreign key without an index of its own: few rows set it (a partial index
    serves those where a query needs one)."""
    options.update(blank=True, null=True, db_index=False)
    return models.ForeignKey(to, on_delete, related_name=related_name, **options)


REVIEW = choices("pending", "confirmed", "rejected", "false_positive")
GROUP_REVIEW = choices("pending", "confirmed", "false_positive", "resolved")
EVENT_TYPES = choices("error", "warning", "metric", "code_block", "prompt")
SEVERITIES = choices("info", "warning", "error", "critical")
RISKS = choices("low", "medium", "high")
DECISIONS = choices("approve", "deny", "unknown", "superseded", "unanswered")

# extraction_events' indexes (docs/benchmarks.md, "Index audit", names the request behind each).
# Whole ones: name -> fields.
FULL_INDEXES = {
    "ee_time": ["-timestamp", "-id"],
    "ee_agent_time": ["agent_name", "-timestamp"],
    "ee_agent_stats": ["agent_name", "event_type", "risk_level", "rule", "review_status"],
    "ee_rule_time": ["rule", "-timestamp", "review_status"],
}
# Partial ones on the newest events with a rare value: name -> condition.
RARE_VALUES = {
    "ee_high_risk_time": {"risk_level": "high"},
    "ee_critical_time": {"severity": "critical"},
    "ee_prompt_time": {"event_type": "prompt"},
    "ee_confirmed_time": {"review_status": "confirmed"},
    "ee_rejected_time": {"review_status": "rejected"},
    "ee_false_positive_time": {"review_status": "false_positive"},
}
# Partial ones on foreign keys few events set: name -> (fields, the key).
KEYS_SET = {
    "ee_group_time": (["group", "-timestamp"], "group"),
    "ee_code_block": (["code_block"], "code_block"),
    "ee_reviewed_by": (["reviewed_by"], "reviewed_by"),
}
EVENT_INDEXES = [
    *(models.Index(fields=fields, name=name) for name, fields in FULL_INDEXES.items()),
    *(
        models.Index(condition=models.Q(**condition), fields=["-timestamp", "-id"], name=name)
        for name, condition in RARE_VALUES.items()
    ),
    models.Index(
        condition=models.Q(review_status="pending", risk_level="high"),
        fields=["timestamp", "id"],
        name="ee_review_queue",
    ),
    *(
        models.Index(condition=models.Q(**{f"{key}__isnull": False}), fields=fields, name=name)
        for name, (fields, key) in KEYS_SET.items()
    ),
]


class Migration(migrations.Migration):
    initial = True

    replaces = [
        ("extraction", "0001_initial"),
        ("extraction", "0002_highriskevent"),
        ("extraction", "0003_query_indexes"),
        ("extraction", "0004_event_search"),
        ("extraction", "0005_lean_foreign_key_indexes"),
        ("extraction", "0006_prompt_decision"),
        ("extraction", "0007_error_groups"),
        ("extraction", "0008_representative_without_constraint"),
        ("extraction", "0009_lean_event_indexes"),
    ]

    dependencies = [
        ("tapsessions", "0001_squashed_0003_dropped_events"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        table(
            "CodeBlock",
            "code_blocks",
            [
                ("sha256", models.CharField(max_length=64, unique=True)),
                ("language", models.CharField(blank=True, max_length=40)),
                ("content", models.TextField()),
                ("first_seen", models.DateTimeField(default=now)),
                ("last_seen", models.DateTimeField(default=now)),
                ("occurrences", models.PositiveIntegerField(default=1)),
            ],
            ordering=["-last_seen"],
            indexes=[
                models.Index(fields=["language", "-last_seen"], name="cb_language_seen"),
                models.Index(fields=["-last_seen"], name="cb_last_seen"),
            ],
        ),
        table(
            "ErrorGroup",
            "error_groups",
            [
                ("fingerprint", models.CharField(max_length=32, unique=True)),
                ("event_type", models.CharField(max_length=16)),
                ("rule", models.CharField(max_length=100)),
                (
                    "title",
                    models.CharField(
                        help_text="the first occurrence's preview line", max_length=200
                    ),
                ),
                (
                    "risk_level",
                    models.CharField(help_text="the highest of its occurrences", max_length=8),
                ),
                ("first_seen", models.DateTimeField()),
                ("last_seen", models.DateTimeField()),
                ("count", models.PositiveBigIntegerField(default=0)),
                ("session_count", models.PositiveIntegerField(default=0)),
                (
                    "review_status",
                    models.CharField(choices=GROUP_REVIEW, default="pending", max_length=16),
                ),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("review_note", models.TextField(blank=True)),
                ("regressed_at", models.DateTimeField(blank=True, null=True)),
                ("reviewed_by", optional(settings.AUTH_USER_MODEL, "reviewed_groups")),
            ],
            ordering=["-last_seen", "-id"],
            indexes=[
                models.Index(fields=["-last_seen", "-id"], name="eg_last_seen"),
                models.Index(fields=["-count", "-id"], name="eg_count"),
                models.Index(
                    fields=["risk_level", "review_status", "first_seen"], name="eg_review"
                ),
            ],
        ),
        table(
            "ExtractionEvent",
            "extraction_events",
            [
                ("seq", models.PositiveIntegerField()),
                ("agent_name", models.CharField(max_length=100)),
                ("event_type", models.CharField(choices=EVENT_TYPES, max_length=16)),
                ("rule", models.CharField(max_length=100)),
                ("severity", models.CharField(choices=SEVERITIES, max_length=10)),
                ("risk_level", models.CharField(choices=RISKS, max_length=8)),
                ("auto_confirmable", models.BooleanField(default=False)),
                ("line_start", models.PositiveIntegerField()),
                ("line_end", models.PositiveIntegerField()),
                ("content", models.TextField()),
                ("context", models.TextField(blank=True)),
                ("metadata", models.JSONField(blank=True, default=dict)),
                ("timestamp", models.DateTimeField(default=now)),
                (
                    "offset_seconds",
                    models.FloatField(
                        default=0.0,
                        help_text="seconds since the session started (position in the recording)",
                    ),
                ),
                (
                    "review_status",
                    models.CharField(choices=REVIEW, default="pending", max_length=16),
                ),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("review_note", models.TextField(blank=True)),
                (
                    "prompt_decision",
                    models.CharField(blank=True, choices=DECISIONS, max_length=16, null=True),
                ),
                (
                    "prompt_decision_by",
                    models.CharField(
                        blank=True,
                        help_text="dashboard:<user>, terminal, policy…",
                        max_length=160,
                        null=True,
                    ),
                ),
                ("prompt_decided_at", models.DateTimeField(blank=True, null=True)),
                ("code_block", optional("extraction.codeblock", "events")),
                (
                    "group",
                    optional(
                        "extraction.errorgroup",
                        "events",
                        db_column="fingerprint",
                        to_field="fingerprint",
                    ),
                ),
                ("prompt_decided_by", optional(settings.AUTH_USER_MODEL, "prompt_decisions")),
                ("reviewed_by", optional(settings.AUTH_USER_MODEL, "reviewed_events")),
                (
                    "session",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=CASCADE,
                        related_name="events",
                        to="tapsessions.processsession",
                    ),
                ),
            ],
            ordering=["-timestamp", "-id"],
            indexes=EVENT_INDEXES,
            constraints=[
                models.UniqueConstraint(fields=("session", "seq"), name="ee_session_seq_unique")
            ],
        ),
        migrations.AddField(
            model_name="errorgroup",
            name="representative",
            field=optional(
                "extraction.extractionevent", "+", on_delete=DO_NOTHING, db_constraint=False
            ),
        ),
        migrations.CreateModel(
            name="HighRiskEvent",
            fields=[],
            options={
                "verbose_name": "high-risk event",
                "verbose_name_plural": "high-risk review queue",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("extraction.extractionevent",),
        ),
        table(
            "ErrorGroupSession",
            "error_group_sessions",
            [
                ("agent_name", models.CharField(max_length=100)),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=CASCADE, related_name="sessions", to="extraction.errorgroup"
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=CASCADE,
                        related_name="error_groups",
                        to="tapsessions.processsession",
                    ),
                ),
            ],
            indexes=[models.Index(fields=["agent_name", "group"], name="egs_agent_group")],
            constraints=[
                models.UniqueConstraint(
                    fields=("group", "session"), name="egs_group_session_unique"
                )
            ],
        ),
        migrations.RunPython(search_forwards, search_backwards, elidable=False),
    ]
