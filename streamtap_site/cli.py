"""The ``streamtap`` command: ``streamtap tap -- pytest`` is ``python manage.py tap -- pytest``.

Installed into the venv by ``make setup`` (``[project.scripts]`` in pyproject.toml, an editable
install), so ``.venv/bin/streamtap`` works from any folder: the project, its settings and its
data directory (``data/`` in the project, or ``STREAMTAP_DATA_DIR``) never depend on the
current directory. ``manage.py`` goes through the same :func:`main`.
"""

from __future__ import annotations

import os
import sys

from streamtap_site.data_dir import BASE_DIR, ensure_data_dir

SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"
SETTINGS_MODULE = "streamtap_site.settings"
# The management commands streamtap adds, listed first by `streamtap --help`.
OWN_APPS = ("sessions", "extraction")
HELP_ARGS = ([], ["-h"], ["--help"])


def main(argv: list[str] | None = None, *, own_settings: bool = True) -> None:
    """Run a management command. ``own_settings``: streamtap's settings whatever
    DJANGO_SETTINGS_MODULE says (the console script, run inside other Django projects);
    manage.py passes False and keeps Django's rule (the variable wins)."""
    argv = list(sys.argv if argv is None else argv)
    prepare(argv[1] if len(argv) > 1 else "", own_settings=own_settings)
    if argv[1:] in HELP_ARGS:
        sys.stdout.write(main_help(os.path.basename(argv[0])))
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def prepare(command: str, *, own_settings: bool = False) -> None:
    """Everything a command needs before Django loads its settings."""
    # Before anything opens a file: the data directory and its files are the user's alone.
    ensure_data_dir()
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    users_value = os.environ.get(SETTINGS_ENV)
    if own_settings:
        os.environ[SETTINGS_ENV] = SETTINGS_MODULE
    else:
        os.environ.setdefault(SETTINGS_ENV, SETTINGS_MODULE)
    if command == "tap":
        # The tap serves nothing: without daphne's app (it imports Twisted) it starts 0.25 s
        # sooner. Decided here, where the command is known, so settings need not read argv.
        from django.conf import settings

        settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "daphne"]
        # Settings are loaded now. The program the tap runs gets the environment it would get
        # without streamtap: `streamtap tap -- pytest` in a Django project must find that
        # project's settings, not ours.
        if users_value is None:
            del os.environ[SETTINGS_ENV]
        else:
            os.environ[SETTINGS_ENV] = users_value


def main_help(prog: str) -> str:
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    lines = [
        f"Usage: {prog} COMMAND [options]   e.g. {prog} tap -- pytest -x",
        "",
        "streamtap's commands:",
    ]
    ours = sorted((name, app) for name, app in get_commands().items() if app in OWN_APPS)
    width = max(len(name) for name, _ in ours)
    for name, app in ours:
        summary = (load_command_class(app, name).help or "").strip().splitlines()
        lines.append(f"  {name.ljust(width)}  {summary[0] if summary else ''}")
    lines += [
        "",
        f"'{prog} COMMAND --help' explains a command; Django's own commands (migrate,",
        f"createsuperuser, changepassword, …) work too: '{prog} help --commands' lists them all.",
        "",
    ]
    return "\n".join(lines)
