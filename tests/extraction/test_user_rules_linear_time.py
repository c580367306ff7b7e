"""Issue 15 row 7: user `--rules` regexes run in linear time (compiled with RE2).

A rule with catastrophic backtracking in Python's re (``^(a+)+$`` against "aaaa…b") must not
hang `extract` or `tap`; what RE2 cannot run in linear time (backreferences, lookarounds) is
refused with the rule's name and the reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extraction.engine import RulesError, load_rules

ROOT = Path(__file__).resolve().parents[2]
# Python's re needs about 2^n steps for ^(a+)+$ on n "a"s and a "b": 40 would take hours.
EVIL_LINE = "a" * 100_000 + "b"


def rules_file(tmp_path: Path, pattern: str, name: str = "evil") -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(f"[[rule]]\nname = '{name}'\npattern = '''{pattern}'''\n")
    return path


def test_extract_with_a_backtracking_rule_finishes_and_still_matches(tmp_path):
    log = tmp_path / "evil.log"
    log.write_text(f"{EVIL_LINE}\n{'a' * 30}\nERROR: real problem\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "extract", str(log), "--json", "--rules"]
        + [str(rules_file(tmp_path, "^(a+)+$"))],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    rules = [line for line in result.stdout.decode().splitlines()]
    assert sum('"rule": "evil"' in line for line in rules) == 1  # the all-"a" line only
    assert any('"rule": "log_error"' in line for line in rules)


@pytest.mark.django_db(transaction=True)
def test_tap_with_a_backtracking_rule_passes_the_output_through(tmp_path):
    from tests.sessions.conftest import database_url

    rules = rules_file(tmp_path, "^(a+)+$")
    env = {
        "DATABASE_URL": database_url(),
        "STREAMTAP_DATA_DIR": str(tmp_path / "data"),
        "STREAMTAP_SERVER_URL": "http://127.0.0.1:9",
        "PATH": "/usr/bin:/bin",
    }
    code = f"print('{EVIL_LINE[:60]}' * {len(EVIL_LINE) // 60} + 'b'); print('done')"
    result = subprocess.run(
        [sys.executable, "manage.py", "tap", "--pipe", "--rules", str(rules), "--"]
        + [sys.executable, "-c", code],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.endswith(b"b\ndone\n")


@pytest.mark.parametrize(
    "pattern, reason",
    [
        (r"(\w+) \1", "invalid escape sequence"),
        (r"error(?= now)", "invalid perl operator"),
        (r"(?<!no )error", "invalid perl operator"),
    ],
)
def test_a_rule_re2_cannot_run_in_linear_time_is_refused_with_its_name_and_why(
    tmp_path, pattern, reason
):
    with pytest.raises(RulesError) as refused:
        load_rules(rules_file(tmp_path, pattern, name="slow_rule"))
    message = str(refused.value)
    assert "rule 'slow_rule'" in message and "linear time" in message and reason in message


def test_extract_refuses_such_a_rule_with_exit_code_2(tmp_path):
    with pytest.raises(CommandError) as refused:
        call_command("extract", str(tmp_path), "--rules", str(rules_file(tmp_path, r"(a)\1")))
    assert refused.value.returncode == 2 and "rule 'evil'" in str(refused.value)


def test_until_and_while_patterns_are_held_to_the_same_rule(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("[[rule]]\nname = 'block'\npattern = 'BEGIN'\nuntil = '(?=END)'\n")
    with pytest.raises(RulesError, match="rule 'block'.*'until' cannot be run in linear time"):
        load_rules(path)


def test_ignore_case_still_works_with_re2(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(
        "[[rule]]\nname = 'deploy'\npattern = 'deploy (?P<env>\\w+)'\nignore_case = true\n"
    )
    rules = load_rules(path)
    from extraction.engine import Extractor

    events = Extractor(rules).feed("DEPLOY prod\n")
    assert [(e.rule, e.metadata.get("env")) for e in events] == [("deploy", "prod")]


def test_a_backtracking_commands_pattern_rates_a_prompt_in_linear_time(tmp_path):
    # [commands] patterns rate what a prompt would run: a user's must not stall that either.
    path = tmp_path / "rules.toml"
    path.write_text("[commands]\ndestructive = ['''^(a+)+$''']\n")
    policy = load_rules(path).policy
    assert policy.risk_for_command(EVIL_LINE) != "high"  # ends in "b": no match
    assert policy.risk_for_command("a" * 40) == "high"
    assert policy.risk_for_command("rm -rf build/") == "high"  # the built-in patterns stay
    assert policy.find_destructive("please run aaaa") is None
