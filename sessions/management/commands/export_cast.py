import shutil
import sys

from django.core.management.base import BaseCommand, CommandError

from sessions.models import ProcessSession
from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = "Write a session's asciicast v2 recording (with event markers) to a file or stdout."

    def add_arguments(self, parser):
        parser.add_argument("session_id")
        parser.add_argument("-o", "--output", default="-", help="file (default: stdout)")

    def handle(self, *args, **options):
        session = ProcessSession.objects.filter(session_id=options["session_id"]).first()
        if session is None:
            raise CommandError(f"no session {options['session_id']!r}")
        try:
            source = open(session.recording_path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"recording unavailable: {exc}") from exc
        with source:
            if options["output"] == "-":
                shutil.copyfileobj(source, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                with open(options["output"], "wb") as out:
                    shutil.copyfileobj(source, out)
                self.stdout.write(f"wrote {options['output']}")
