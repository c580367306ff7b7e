"""streamtap's files are the user's alone: 0600 files under a 0700 data directory.

The data holds password hashes, session keys, API tokens and everything programs printed.
``make_private`` sets the umask at process start (``ensure_data_dir``, which manage.py, the
``streamtap`` command, the ASGI entry point and the tests call first); it remembers the user's umask for the programs a tap runs, which must create
their files as they would without streamtap.
"""

from __future__ import annotations

import os

PRIVATE_UMASK = 0o077
_user_umask: int | None = None


def make_private() -> None:
    global _user_umask
    previous = os.umask(PRIVATE_UMASK)
    if _user_umask is None:
        _user_umask = previous


def user_umask() -> int:
    """The umask this process had before ``make_private`` (what a tapped program gets)."""
    if _user_umask is None:
        current = os.umask(PRIVATE_UMASK)
        os.umask(current)
        return current
    return _user_umask
