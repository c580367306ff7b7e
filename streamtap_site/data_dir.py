"""The data directory: where it is (settings read that) and making it (the commands do that).

Settings only compute paths and read what is already there, so importing them writes nothing.
Every entry point that runs a command (``manage.py``, the ``streamtap`` console script, a daphne
started on ``streamtap_site.asgi``, the test suite) calls :func:`ensure_data_dir` first: it sets
the private umask and makes the directory (0700), its static root and the secret key file
(0600) if they are missing.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from streamtap_site.file_modes import make_private

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = ".secret_key"
STATIC_ROOT_NAME = "staticfiles"


def data_dir() -> Path:
    """``STREAMTAP_DATA_DIR``, else ``data/`` in the project (never the current directory)."""
    return Path(os.environ.get("STREAMTAP_DATA_DIR") or BASE_DIR / "data").resolve()


def read_secret_key(directory: Path) -> str:
    """The installation's generated key, or "" when no command has made it yet."""
    try:
        return (directory / SECRET_KEY_FILE).read_text().strip()
    except FileNotFoundError:
        return ""


def ensure_data_dir(directory: Path | None = None) -> Path:
    """Make the data directory and the files settings expect in it; idempotent."""
    make_private()
    directory = directory or data_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid == os.geteuid() and info.st_mode & 0o077:
        directory.chmod(0o700)  # made before streamtap set modes: closed now, for other users
    # Whitenoise warns about a missing STATIC_ROOT; pages are served from the finders.
    (directory / STATIC_ROOT_NAME).mkdir(mode=0o700, exist_ok=True)
    _ensure_secret_key(directory / SECRET_KEY_FILE)
    return directory


def _ensure_secret_key(path: Path) -> None:
    # Generated once per installation and kept beside the data (git-ignored), so a fresh
    # clone works without configuration and no key is ever committed. The tap reads the same
    # file, which is how it signs its live-ingest handshake with the local server.
    if path.exists():
        return
    # Written aside and linked into place: a process starting at the same moment sees either
    # no key or the whole key, and the first link wins.
    tmp = path.with_name(f"{SECRET_KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(50))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
