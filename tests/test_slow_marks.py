"""The fast loop's list of slow tests names tests that exist: a renamed test must not slip back
into `make test` (or out of sight) unnoticed."""

import re

from tests.conftest import SLOW_DIRECTORIES, SLOW_TESTS, TESTS_DIR


def test_every_test_listed_as_slow_exists():
    missing = []
    for name in SLOW_TESTS:
        path, function = name.split("::")
        source = (TESTS_DIR / path).read_text() if (TESTS_DIR / path).exists() else ""
        if not re.search(rf"^(?:async )?def {function}\(", source, re.MULTILINE):
            missing.append(name)
    assert missing == []


def test_the_slow_directories_exist():
    assert all((TESTS_DIR / directory).is_dir() for directory in SLOW_DIRECTORIES)
