"""Fewer indexes on extraction_events: every one costs each insert of the tap's writer.

The foreign keys' own indexes go: (session, seq) is unique and leads with the session; the code
block and the reviewer are set on few rows and get partial indexes instead. The fields change in
the migration state only and the indexes are dropped by name, so an existing database is not
rebuilt table by table (SQLite's way to alter a column).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Django's names for the foreign keys' indexes (the same on SQLite and PostgreSQL).
FK_INDEXES = {
    "extraction_events_session_id_61129be4": "session_id",
    "extraction_events_code_block_id_c48fb912": "code_block_id",
    "extraction_events_reviewed_by_id_af76b47f": "reviewed_by_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("extraction", "0004_event_search"),
        ("tapsessions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="extractionevent",
                    name="code_block",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="extraction.codeblock",
                    ),
                ),
                migrations.AlterField(
                    model_name="extractionevent",
                    name="reviewed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reviewed_events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="extractionevent",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="tapsessions.processsession",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "extraction_events" ("{column}")',
                )
                for name, column in FK_INDEXES.items()
            ],
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("code_block__isnull", False)),
                fields=["code_block"],
                name="ee_code_block",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("reviewed_by__isnull", False)),
                fields=["reviewed_by"],
                name="ee_reviewed_by",
            ),
        ),
    ]
