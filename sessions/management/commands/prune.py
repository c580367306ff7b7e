from django.core.management.base import BaseCommand, CommandError

from sessions import retention
from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = (
        "Delete finished sessions older than --older-than (default: the RETENTION_DAYS setting), "
        "with their events, state changes and recordings, and code blocks no event uses any "
        "more. Live sessions are never deleted. Works in small transactions, so taps keep "
        "writing while it runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            metavar="AGE",
            help="e.g. 30d, 12h, 90m (default: STREAMTAP_RETENTION_DAYS days)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be deleted"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.BATCH_SIZE,
            help="rows deleted per transaction (default %(default)s)",
        )

    def handle(self, *args, **options):
        age = self.age(options["older_than"])
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        result = retention.prune(
            age,
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            progress=self.report_session if options["verbosity"] > 1 else None,
        )
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} {result} (older than {age}).")

    @staticmethod
    def age(text: str | None):
        if text:
            try:
                return retention.parse_age(text)
            except ValueError as exc:
                raise CommandError(f"--older-than {exc}") from None
        age = retention.default_age()
        if age is None:
            raise CommandError("give --older-than (e.g. 30d) or set STREAMTAP_RETENTION_DAYS")
        return age

    def report_session(self, session, done) -> None:
        self.stdout.write(f"{session.session_id}: {done.events} events")
