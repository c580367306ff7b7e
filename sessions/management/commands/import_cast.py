from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from extraction.engine import RulesError
from output_search.indexer import index_recording
from sessions import rebuild
from sessions.recording import RecordingError
from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = "Turn an asciicast recording (v2 or v3) or a plain log file into a session."

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="an asciicast (.cast) recording or a log file"
        )
        parser.add_argument("--agent", default="", help="agent name (default: the file's name)")
        parser.add_argument(
            "--rules", default="", metavar="RULES.toml", help="user rules (see docs/rules.md)"
        )

    def handle(self, *args, **options):
        try:
            rules = rebuild.rules_from(options["rules"])
        except RulesError as exc:
            raise CommandError(str(exc)) from exc
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            agent = options["agent"] or path.stem.split(".")[0] or "import"
            try:
                result = rebuild.import_file(
                    path,
                    agent_name=agent,
                    rules=rules,
                    recordings_dir=settings.STREAMTAP["RECORDINGS_DIR"],
                )
            except RecordingError as exc:
                raise CommandError(f"{name}: {exc}") from None
            # What it printed becomes searchable at once (output_search/indexer.py).
            index_recording(result.session)
            self.stdout.write(
                f"{path}: session {result.session.session_id}, {result.lines} lines, "
                f"{result.total_events} events"
            )
