from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from extraction.engine import RulesError
from sessions import rebuild


class Command(BaseCommand):
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
        self.load_spills(rules)
        self.mark_lost(rules, options["stale_minutes"] * 60)
        if not options["no_orphans"]:
            self.adopt_orphans(rules)

    def load_spills(self, rules) -> None:
        spill_dir = Path(settings.STREAMTAP["SPILL_DIR"])
        for path in sorted(spill_dir.glob("*.spill.jsonl")):
            session = rebuild.load_spill(path, rules)
            path.rename(path.with_suffix(".loaded"))
            self.stdout.write(
                f"loaded spill {path.name} into {session.session_id}: "
                f"{session.total_extraction_events} events"
            )

    def mark_lost(self, rules, stale_seconds: float) -> None:
        for session in rebuild.stale_sessions(stale_seconds):
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
            session = rebuild.adopt_orphan_recording(path, rules)
            if session:
                self.stdout.write(f"adopted {path.name} as {session.session_id} (lost)")
