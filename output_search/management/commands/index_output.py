"""Index the recorded output of sessions for full-text search (idempotent; resumes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from output_search.indexer import index_recording
from output_search.models import OutputIndexState
from sessions.models import ProcessSession
from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = (
        "Index what sessions printed (their recordings) for the search page and /api/output/. "
        "Sessions already indexed are skipped; run it again any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("sessions", nargs="*", help="session ids (default: every session)")
        parser.add_argument(
            "--rebuild", action="store_true", help="drop the sessions' rows and index afresh"
        )

    def handle(self, *args, sessions, rebuild, verbosity, **options):
        todo = ProcessSession.objects.exclude(recording_path="").order_by("started_at")
        if sessions:
            todo = todo.filter(session_id__in=sessions)
            missing = set(sessions) - set(todo.values_list("session_id", flat=True))
            if missing:
                raise CommandError(
                    f"no such session with a recording: {', '.join(sorted(missing))}"
                )
        elif not rebuild:
            done = OutputIndexState.objects.filter(complete=True).values("session_id")
            todo = todo.exclude(pk__in=done)
        total = 0
        for session in todo.iterator():
            lines = self.index_one(session, rebuild=rebuild)
            total += lines
            if verbosity > 1:
                self.stdout.write(f"{session.session_id}: {lines} lines")
        self.stdout.write(f"indexed {total} new lines")

    def index_one(self, session: ProcessSession, *, rebuild: bool) -> int:
        return index_recording(session, rebuild=rebuild)
