"""The compiled hyperscan database is cached on disk: a tap starts without recompiling it."""

from __future__ import annotations

import pytest

from extraction.engine import Extractor
from extraction.engine.hyperscan_db import database as hyperscan_database
from extraction.engine.rules import RuleSet

SAMPLE = "ok\nerror: it broke\nloss=0.5\nfine\nProceed? [y/N]\n"


def events_of(rules: RuleSet) -> list[tuple]:
    extractor = Extractor(rules)
    events = extractor.feed(SAMPLE * 200) + extractor.close()
    return [(e.event_type, e.rule, e.line_start) for e in events]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMTAP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_second_rule_set_loads_the_compiled_database_and_finds_the_same(cache_dir):
    first = RuleSet()
    cached = list(cache_dir.glob("hyperscan-*.db"))
    assert len(cached) == 1
    assert cached[0].stat().st_mode & 0o777 == 0o600
    stamp = cached[0].stat().st_mtime_ns
    second = RuleSet()
    assert cached[0].stat().st_mtime_ns == stamp  # read, not rewritten
    assert events_of(first) == events_of(second)
    assert len(events_of(second)) == 600


def test_other_expressions_get_their_own_entry(cache_dir):
    hyperscan_database([b"alpha"])
    hyperscan_database([b"beta"])
    assert len(list(cache_dir.glob("hyperscan-*.db"))) == 2


def test_a_damaged_cache_file_is_recompiled_and_replaced(cache_dir):
    reference = events_of(RuleSet())
    (path,) = cache_dir.glob("hyperscan-*.db")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert events_of(RuleSet()) == reference
    assert path.read_bytes() != bytes(data)
    path.write_bytes(b"garbage")
    assert events_of(RuleSet()) == reference


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("STREAMTAP_CACHE_DIR", str(blocker / "cache"))
    assert len(events_of(RuleSet())) == 600


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMTAP_CACHE_DIR", "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert len(events_of(RuleSet())) == 600
    assert not any(tmp_path.rglob("hyperscan-*"))
