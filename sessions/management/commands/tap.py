import argparse
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from extraction.engine import RulesError
from sessions.models import AGENT_NAME_MAX, is_agent_name
from sessions.tap import Tap, TapError, TapOptions, print_summary


class Command(BaseCommand):
    help = (
        "Run a command, pass its output through unchanged, record it (asciicast v2) and store "
        "the errors, warnings, metrics, code blocks and prompts found in it. "
        "Usage: manage.py tap [options] -- COMMAND [ARGS...]"
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--agent",
            default="",
            help=f"agent name: letters, digits, '.', '_' and '-' between them, at most "
            f"{AGENT_NAME_MAX} (default: the program's name)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--pty",
            dest="use_pty",
            action="store_true",
            default=None,
            help="run in a pseudo-terminal (default when stdout is a terminal)",
        )
        mode.add_argument(
            "--pipe",
            dest="use_pty",
            action="store_false",
            help="run with pipes (default when stdout is not a terminal)",
        )
        parser.add_argument("--rules", default="", help="TOML file of extra/overridden rules")
        parser.add_argument(
            "--no-redact-recording",
            action="store_true",
            help="keep secrets in the recording (events are always redacted)",
        )
        parser.add_argument("--log-dir", default="", help="directory for recordings")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.STREAMTAP["BATCH_SIZE"],
            help="store events once this many are pending (default: %(default)s)",
        )
        parser.add_argument(
            "--batch-seconds",
            type=float,
            default=settings.STREAMTAP["BATCH_SECONDS"],
            help="store pending events at the latest this many seconds after the oldest "
            "(default: %(default)s)",
        )
        parser.add_argument("--no-live", action="store_true", help="do not publish live")
        parser.add_argument("--server", default="", help="server URL for live publishing")
        parser.add_argument("--token", default="", help="API token for --server")
        parser.add_argument(
            "--title", default="", help="the recording's title (default: agent and command)"
        )
        parser.add_argument(
            "--auto-confirm",
            choices=["low", "medium"],
            default=None,
            help="answer prompts up to this risk with their approve-once option",
        )
        parser.add_argument(
            "--policy-dry-run",
            action="store_true",
            help="record what --auto-confirm would answer without answering",
        )
        parser.add_argument(
            "--prompt-timeout",
            type=float,
            default=0.0,
            help="deny a prompt nobody answered within this many seconds",
        )
        parser.add_argument(
            "--agent-kind",
            choices=["claude", "codex", "aider", "generic"],
            default=None,
            help="which agent this is, for its hooks and transcript (default: by the program's "
            "name; generic: none)",
        )
        parser.add_argument(
            "--summary", action="store_true", help="print a one-line summary to stderr at the end"
        )
        parser.add_argument(
            "argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]", help="what to run"
        )

    def handle(self, *args, **options):
        argv = options["argv"]
        if argv and argv[0] == "--":
            argv = argv[1:]
        if not argv:
            raise CommandError(
                "nothing to run: usage: manage.py tap [options] -- COMMAND [ARGS...]"
            )
        if options["agent"] and not is_agent_name(options["agent"]):
            raise CommandError(
                f"--agent {options['agent']!r}: use letters, digits, '.', '_' and '-' "
                f"(starting and ending with a letter or digit, no '--'), at most "
                f"{AGENT_NAME_MAX} characters; "
                "it becomes part of session ids and their URLs"
            )
        if options["batch_size"] < 1 or options["batch_seconds"] <= 0:
            raise CommandError("--batch-size must be ≥ 1 and --batch-seconds > 0")
        tap_options = TapOptions(
            argv=argv,
            agent_name=options["agent"],
            use_pty=options["use_pty"],
            rules_file=options["rules"],
            redact_recording=not options["no_redact_recording"],
            recordings_dir=options["log_dir"],
            batch_size=options["batch_size"],
            batch_seconds=options["batch_seconds"],
            live=not options["no_live"],
            server_url=options["server"],
            api_token=options["token"],
            title=options["title"],
            auto_confirm=options["auto_confirm"],
            policy_dry_run=options["policy_dry_run"],
            prompt_timeout=options["prompt_timeout"],
            agent_kind=options["agent_kind"],
        )
        try:
            tap = Tap(tap_options)
            result = tap.run()
        except TapError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from exc
        except RulesError as exc:
            raise CommandError(str(exc)) from exc
        if options["summary"] or not result.stored:
            print_summary(result)
        sys.stdout.flush()
        # The tap's exit status is the child's (128+N when a signal killed it).
        sys.exit(result.exit_code)
