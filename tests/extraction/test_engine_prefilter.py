"""The chunk prefilter: the optional hyperscan path finds the same lines as the plain sweeps."""

import random
from dataclasses import asdict

import pytest

from extraction.engine import Extractor, hyperscan_db
from extraction.engine import rules as rules_module
from extraction.engine.rules import RuleSet, rules_from_dict

LINES = [
    "2024-05-01 12:00:00,123 ERROR api.views: request failed with status 500",
    "2024-05-01 12:00:01,000 INFO worker.pool: handled id=12 in 5ms",
    "[WARN] cache miss ratio above threshold",
    "epoch 3/100 loss=0.31 acc=0.93 lr=1e-4 throughput=1200 samples/s",
    "Tokens used: 1,234 (input 1,000 / output 234)",
    "loss:0.5 loss = 0.5 Loss:  5 val_loss=0.1 cost: $0.12 accuracy=93%",
    "===== 3 passed, 1 failed, 2 skipped in 3.21s =====",
    "Ran 5 tests in 0.003s",
    "Traceback (most recent call last):",
    '  File "app/x.py", line 3, in run',
    "ValueError: invalid literal for int() with base 10: 'x'",
    "```python",
    "def handler(event):",
    "```",
    "npm ERR! code ERESOLVE",
    "warning: unused variable: `x`",
    "  --> src/lib.rs:1:9",
    "src/main.c:3:5: error: expected ';' before 'return'",
    "Do you want to run `pytest -q`? [Y/n]",
    "Are you sure you want to continue connecting (yes/no/[fingerprint])?",
    "rm: remove regular file 'x'?",
    "[sudo] password for bob:",
    'level=error msg="boom" lvl="panic"',
    "panic: runtime error: index out of range",
    "goroutine 1 [running]:",
    "exit status 2",
    "FAILED tests/x.py::test_y - assert 1 == 2",
    "fatal: not a git repository",
    "\x1b[32m✓\x1b[0m src/ok.py  all good",
    "I'll handle the edge case in the request parser.",
    "Internal Server Error: /api/x qps 12.5",
    "thread 'main' panicked at src/main.rs:2:5:",
    "boom",
    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
    "thread 'main' panicked at 'boom', src/main.rs:2:5",
    "Segmentation fault (core dumped)",
    "Bus error",
    "Killed",
    "E0101 12:00:00.000000   123 file.go:42] connection refused",
    "F0101 12:00:00.000000   123 file.go:42] Check failed: x",
    "W0101 12:00:00.000000   123 file.go:42] slow",
    "[1/3] building",
    "[app] ERROR: x",
    "[worker] [db] FATAL gone",
    "PANIC queue overflow",
    "TypeError: Cannot read properties of undefined (reading 'x')",
    "    at Object.<anonymous> (/app/x.js:1:5)",
    "",
]


def _events(ruleset, text, size):
    extractor = Extractor(ruleset)
    events = []
    for i in range(0, len(text), size):
        events += extractor.feed(text[i : i + size])
    events += extractor.close()
    return [repr(asdict(e)) for e in events]


def _text(seed, n=3000):
    rng = random.Random(seed)
    return "\n".join(rng.choice(LINES) for _ in range(n)) + "\n"


def _both(monkeypatch, build):
    monkeypatch.setattr(hyperscan_db, "USE_HYPERSCAN", False)
    plain = build()
    monkeypatch.setattr(hyperscan_db, "USE_HYPERSCAN", True)
    fast = build()
    return plain, fast


USER_RULES = {
    "rule": [
        {
            "name": "server_error",
            "type": "error",
            "pattern": r"Internal Server Error: (?P<path>\S+)",
            "triggers": ["Internal Server Error"],
        },
        {
            "name": "qps",
            "type": "metric",
            "pattern": r"qps (?P<value>[\d.]+)",
            "metric_name": "qps",
            "triggers": ["QPS"],
        },
    ]
}


def test_plain_sweeps_work_without_hyperscan(monkeypatch):
    monkeypatch.setattr(hyperscan_db, "USE_HYPERSCAN", False)
    ruleset = RuleSet()
    assert ruleset.hyperscan is None
    events = _events(ruleset, _text(1, 400), 4096)
    assert any("'rule': 'python_traceback'" in e for e in events)
    assert any("'rule': 'tokens_used'" in e for e in events)


def test_hyperscan_is_installed():
    # requirements.txt pins it; without it the engine falls back (tested above), but the suite
    # must exercise the fast path it ships with.
    assert hyperscan_db.hyperscan is not None, "pip install -r requirements.txt (hyperscan)"


@pytest.mark.parametrize("size", [65536, 1000, 7])
def test_hyperscan_gives_the_same_events(monkeypatch, size):
    plain, fast = _both(monkeypatch, RuleSet)
    assert plain.hyperscan is None and fast.hyperscan is not None
    text = _text(size)
    assert _events(fast, text, size) == _events(plain, text, size)
    plain, fast = _both(monkeypatch, lambda: rules_from_dict(USER_RULES))
    assert fast.hyperscan is not None
    events = _events(fast, text, size)
    assert events == _events(plain, text, size)
    assert any("'rule': 'qps'" in e for e in events)


def test_hyperscan_finds_the_same_candidate_lines(monkeypatch):
    plain, fast = _both(monkeypatch, RuleSet)
    fragments = [*rules_module._SWEEP_METRIC_NAMES, " ", "=", ": ", ":", "1", "0.5", ".", "-",
                 "$", "level", "lvl", '"', "panic", "fatal", "crit", " in ", "s", "2.5s", "s_",
                 "/", "n", "N", "(", ")", "]", "[", "no", "rm", "cp", "exception", "ERR", "Fa",
                 "tal", "iled", "traceback", "`", "~", "pass", "ed", "word", "epoch", "warn",
                 "panicked", " at", "kill", "Killed", "segmentation", " fault", "] ", "2] ",
                 "\n", "é", "✓", "K"]  # fmt: skip
    rng = random.Random(5)

    def plain_candidates(region):
        low = region.encode("ascii", "replace").lower()
        return sorted(
            {low.rfind(b"\n", 0, m.start()) + 1 for s in plain.sweeps for m in s.finditer(low)}
        )

    extractor = Extractor(fast)
    for _ in range(3000):
        region = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 30))) + "\n"
        assert extractor._hyperscan_candidates(region) == plain_candidates(region), region


def test_every_line_a_builtin_rule_matches_is_a_sweep_candidate(monkeypatch):
    # Matching every line, with no prefilter at all, finds nothing more than the sweeps do.
    text = _text(7)
    for use_hyperscan in (False, True):
        monkeypatch.setattr(hyperscan_db, "USE_HYPERSCAN", use_hyperscan)
        swept = RuleSet()
        every_line = RuleSet()
        every_line.every_line = True
        assert _events(swept, text, 4096) == _events(every_line, text, 4096)


def test_trigger_with_newline_keeps_plain_sweeps():
    ruleset = rules_from_dict(
        {"rule": [{"name": "two", "type": "error", "pattern": "a", "triggers": ["a\nb"]}]}
    )
    assert ruleset.hyperscan is None
