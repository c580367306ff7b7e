from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from extraction.engine import RulesError
from sessions import rebuild
from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = (
        "Load spill files left by taps whose database was down, mark sessions whose tap died as "
        "'lost' after re-extracting their recordings, and adopt recordings no session knows. "
        "Idempotent: nothing is stored twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rules", default="", help="TOML rules the taps used")
        parser.add_argument(
            "--stale-minutes",
            type=float,
            default=10.0,
            help="a tap on another host is dead after this long without heartbeat",
        )
        parser.add_argument(
            "--no-orphans", action="store_true", help="do not adopt recordings without a session"
        )

    def handle(self, *args, **options):
        try:
            rules = rebuild.rules_from(options["rules"])
        except RulesError as exc:
            raise CommandError(str(exc)) from exc
        self.done = 0
        failed = self.load_spills(rules)
        self.mark_lost(rules, options["stale_minutes"] * 60)
        if not options["no_orphans"]:
            self.adopt_orphans(rules)
        if failed:
            raise CommandError(
                f"{failed} spill file(s) could not be loaded and were left in place (see above)"
            )
        if not self.done:
            self.stdout.write("nothing to recover: no spill files, lost sessions or orphans")

    def load_spills(self, rules) -> int:
        """Load every spill file; one that cannot be loaded is reported and kept for later."""
        spill_dir = Path(settings.STREAMTAP["SPILL_DIR"])
        failed = 0
        for path in sorted(spill_dir.glob("*.spill.jsonl")):
            if not rebuild.is_inside(path, spill_dir):
                self.stderr.write(f"skipped {path}: a symbolic link out of {spill_dir}")
                continue
            try:
                # All or nothing: a spill that fails half-way is loaded again next time.
                with transaction.atomic():
                    session = rebuild.load_spill(path, rules)
            except (DatabaseError, ValueError, KeyError, TypeError, StopIteration) as exc:
                failed += 1
                reason = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                self.stderr.write(f"could not load spill {path}: {reason}")
                continue
            path.rename(path.with_suffix(".loaded"))
            self.done += 1
            self.stdout.write(
                f"loaded spill {path.name} into {session.session_id}: "
                f"{session.total_extraction_events} events"
            )
        return failed

    def mark_lost(self, rules, stale_seconds: float) -> None:
        for session in rebuild.stale_sessions(stale_seconds):
            self.done += 1
            result = rebuild.mark_lost(session, rules)
            restored = (
                f"{result.new_events} events restored from the recording"
                if result
                else ("no recording")
            )
            self.stdout.write(f"{session.session_id}: lost ({restored})")

    def adopt_orphans(self, rules) -> None:
        root = Path(settings.STREAMTAP["RECORDINGS_DIR"])
        if not root.exists():
            return
        known = rebuild.known_recordings()
        for path in sorted(root.rglob("*.cast")):
            if str(path) in known or "imported" in path.parts:
                continue
            if not rebuild.is_inside(path, root):
                # A link planted in the recordings folder must not make us read (and show to
                # every user) a file from elsewhere.
                self.stderr.write(f"skipped {path}: a symbolic link out of {root}")
                continue
            session = rebuild.adopt_orphan_recording(path, rules)
            if session:
                self.done += 1
                self.stdout.write(f"adopted {path.name} as {session.session_id} (lost)")
