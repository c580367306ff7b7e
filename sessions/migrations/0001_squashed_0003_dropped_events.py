"""Sessions' schema as it stands after 0001_initial, 0002_clean_session_ids and
0003_dropped_events (issue 18: one migration per app).

0002 renamed session ids and agent names that break URLs in rows stored before names were
checked; a new database has no such rows (``ProcessSession.start`` cleans the name), so it is
not repeated here. A database that applied all three is simply marked as having this one.
A database part-way through the old chain must first be migrated to its end by a checkout from
before the squash (`git log --diff-filter=D -- */migrations/` finds it): the old files are gone.
"""

from django.db import migrations, models
from django.db.models.deletion import CASCADE
from django.utils.timezone import now

STATUSES = ["running", "waiting_for_input", "completed", "failed", "killed", "lost"]


def table(name, db_table, fields, **options):
    """A model with Django's big-integer id, stored in `db_table`."""
    key = models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )
    return migrations.CreateModel(name, [("id", key), *fields], {"db_table": db_table, **options})


def counter(**options):
    return models.BigIntegerField(default=0, **options)


class Migration(migrations.Migration):
    initial = True

    replaces = [
        ("tapsessions", "0001_initial"),
        ("tapsessions", "0002_clean_session_ids"),
        ("tapsessions", "0003_dropped_events"),
    ]

    dependencies = []

    operations = [
        table(
            "ProcessSession",
            "process_sessions",
            [
                ("session_id", models.CharField(max_length=160, unique=True)),
                ("agent_name", models.CharField(max_length=100)),
                ("argv", models.JSONField(default=list)),
                (
                    "command_line",
                    models.TextField(blank=True, help_text="argv joined for display and search"),
                ),
                ("cwd", models.TextField(blank=True)),
                ("host", models.CharField(blank=True, max_length=255)),
                ("pid", models.IntegerField(blank=True, null=True)),
                (
                    "environment",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="a redacted, allow-listed subset of the environment",
                    ),
                ),
                ("mode", models.CharField(default="pipe", help_text="pty or pipe", max_length=8)),
                ("term_cols", models.PositiveIntegerField(default=80)),
                ("term_rows", models.PositiveIntegerField(default=24)),
                (
                    "status",
                    models.CharField(
                        choices=[(status, status.replace("_", " ").title()) for status in STATUSES],
                        default="running",
                        max_length=20,
                    ),
                ),
                ("started_at", models.DateTimeField(default=now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("exit_code", models.IntegerField(blank=True, null=True)),
                ("exit_signal", models.IntegerField(blank=True, null=True)),
                ("total_lines_processed", counter()),
                ("total_extraction_events", counter()),
                ("bytes_out", counter()),
                (
                    "event_counts",
                    models.JSONField(blank=True, default=dict, help_text="events by type"),
                ),
                (
                    "prompt_wait_seconds",
                    models.FloatField(
                        default=0.0, help_text="time the program spent blocked on prompts"
                    ),
                ),
                ("recording_path", models.TextField(blank=True)),
                ("last_heartbeat", models.DateTimeField(blank=True, null=True)),
                (
                    "dropped_events",
                    counter(
                        help_text="events the tap could not hand to the database in time: the recording has them, "
                        "and `recover` stores them"
                    ),
                ),
            ],
            ordering=["-started_at"],
            indexes=[
                models.Index(fields=["agent_name", "-started_at"], name="ps_agent_started"),
                models.Index(fields=["status", "-started_at"], name="ps_status_started"),
                models.Index(fields=["-started_at"], name="ps_started"),
            ],
        ),
        table(
            "ProcessStateChange",
            "process_state_changes",
            [
                ("state", models.CharField(max_length=40)),
                ("metadata", models.JSONField(blank=True, default=dict)),
                ("timestamp", models.DateTimeField(default=now)),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=CASCADE,
                        related_name="state_changes",
                        to="tapsessions.processsession",
                    ),
                ),
            ],
            ordering=["timestamp", "id"],
            indexes=[models.Index(fields=["session", "timestamp"], name="psc_session_time")],
        ),
    ]
