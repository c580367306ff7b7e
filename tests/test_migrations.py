"""Migrations: one squashed migration per app builds today's schema (issue 18), and a database
migrated by the old chains is taken as having it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

pytestmark = pytest.mark.django_db

# What the squashed migrations replace: the chains existing databases were migrated with.
SQUASHED = {
    ("tapsessions", "0001_squashed_0003_dropped_events"): [
        "0001_initial",
        "0002_clean_session_ids",
        "0003_dropped_events",
    ],
    ("extraction", "0001_squashed_0009_lean_event_indexes"): [
        "0001_initial",
        "0002_highriskevent",
        "0003_query_indexes",
        "0004_event_search",
        "0005_lean_foreign_key_indexes",
        "0006_prompt_decision",
        "0007_error_groups",
        "0008_representative_without_constraint",
        "0009_lean_event_indexes",
    ],
}

# Migrations made after the squash (schema changes since issue 18): a database migrated by the
# old chains applies these and nothing else.
AFTER_SQUASH = {
    ("extraction", "0010_ascending_time_indexes"),
    ("extraction", "0011_pg_search_off_the_insert_path"),
}

# Search objects the migrations make outside the models, by database vendor.
SEARCH_OBJECTS = {
    "sqlite": (
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')",
        {
            "extraction_events_fts",
            "extraction_events_fts_delete",
            "extraction_events_fts_update",
            "output_lines_fts",
            "output_lines_ad",
        },
    ),
    "postgresql": (
        "SELECT indexname FROM pg_indexes UNION ALL SELECT tgname FROM pg_trigger",
        {
            "ees_text_trgm",
            "output_lines_text_trgm",
            "extraction_events_search_added",
            "extraction_events_search_edited",
            "extraction_events_search_removed",
            "extraction_events_search_truncated",
        },
    ),
}


def test_the_migrations_build_what_the_models_say():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(("squash", "old_names"), SQUASHED.items())
def test_each_app_has_one_migration_that_replaces_its_old_chain(squash, old_names):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    app = squash[0]
    later = {key for key in AFTER_SQUASH if key[0] == app}
    assert sorted(key for key in loader.disk_migrations if key[0] == app) == sorted(
        {squash} | later
    )
    assert loader.disk_migrations[squash].replaces == [(app, name) for name in old_names]
    assert all(not loader.disk_migrations[key].replaces for key in later)


def test_a_database_migrated_by_the_old_chains_applies_only_the_later_migrations():
    recorder = MigrationRecorder(connection)
    recorder.migration_qs.filter(app__in=[app for app, _ in SQUASHED]).delete()
    for (app, _), old_names in SQUASHED.items():
        for name in old_names:
            recorder.record_applied(app, name)

    executor = MigrationExecutor(connection)
    executor.loader.check_consistent_history(connection)
    assert set(SQUASHED) <= set(executor.loader.applied_migrations)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    assert {(migration.app_label, migration.name) for migration, _ in plan} <= AFTER_SQUASH


def test_the_search_indexes_are_made():
    sql, names = SEARCH_OBJECTS[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql)
        assert names <= {row[0] for row in cursor.fetchall()}
