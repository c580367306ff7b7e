#!/usr/bin/env python
"""streamtap's command-line entry point (Django's manage.py); `streamtap` is the same thing."""

import sys


def main() -> None:
    from streamtap_site.cli import main as run

    run(sys.argv, own_settings=False)


if __name__ == "__main__":
    main()
