#!/usr/bin/env python
"""streamtap's command-line entry point (Django's manage.py)."""

import os
import sys


def main() -> None:
    # Before anything opens a file: the data directory's files are the user's alone (0600).
    from streamtap_site.file_modes import make_private

    make_private()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamtap_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
