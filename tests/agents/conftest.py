"""Fixtures shared with the session tests: a tap process against the test database."""

from tests.sessions.conftest import tap_env  # noqa: F401
