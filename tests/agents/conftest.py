"""Fixtures shared with the session tests: a tap process against the test database."""

import pytest

from tests.programs.mock_model_server import MockModelServer
from tests.sessions.conftest import tap_env  # noqa: F401


@pytest.fixture
def mock_model():
    with MockModelServer(command="rm -rf build/", reason="Remove the build directory") as server:
        yield server
