"""The database's tables, created by whichever command a user runs first.

``serve`` migrates at every start, but ``tap``, ``import_cast`` or ``recover`` is often the first
command run on a new data directory (or on a PostgreSQL database nobody has served from), and
the tables it needs were not there: the tap retried until its 60 s finish budget ran out and
spilled everything, the other commands stopped on a traceback. Finding out that nothing is
missing takes ~10 ms.
"""

from __future__ import annotations

import logging

from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

log = logging.getLogger(__name__)


def migrate_if_needed() -> bool:
    """Apply the migrations the database lacks, and say so; True when there were any."""
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    call_command("migrate", interactive=False, verbosity=0)
    log.warning(
        "streamtap: the database %s lacked streamtap's tables; ran `manage.py migrate`",
        connection.settings_dict["NAME"],
    )
    return True


class MigratesFirst:
    """For a management command that uses the database: Django's check before ``handle``,
    which only warns about missing migrations, applies them, and a database that is away is
    one line saying so, not a traceback."""

    requires_migrations_checks = True

    def check_migrations(self) -> None:
        migrate_for_command()


def migrate_for_command() -> None:
    """``migrate_if_needed`` for a management command: a database that cannot be used is a
    CommandError (one line on the terminal)."""
    try:
        migrate_if_needed()
    except DatabaseError as exc:
        name = connection.settings_dict["NAME"]
        raise CommandError(f"the database {name} cannot be used: {exc}".strip()) from exc
