import pytest

from extraction.engine import Extractor, RulesError, load_rules
from extraction.engine.rules import RuleSet


def write(tmp_path, text):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def run(rules, text):
    x = Extractor(rules)
    return x.feed(text) + x.close()


def test_builtin_rule_names_are_introspectable():
    names = RuleSet().names()
    for name in (
        "python_traceback",
        "compiler_error",
        "npm_error",
        "go_panic",
        "rust_error",
        "log_error",
        "warning_generic",
        "python_warning",
        "metric_kv",
        "pytest_summary",
        "code_fence",
        "prompt_yes_no",
    ):
        assert name in names


def test_none_means_builtin_rules():
    assert load_rules(None).names() == RuleSet().names()


def test_add_a_rule_without_trigger_runs_on_every_line(tmp_path):
    rules = load_rules(
        write(tmp_path, '[[rule]]\nname = "deploy"\ntype = "warning"\npattern = "^DEPLOY "\n')
    )
    assert rules.every_line
    (event,) = run(rules, "DEPLOY started\n")
    assert event.event_type == "warning" and event.risk_level == "medium"


# A rules file, the output, and the one event it gives (the attributes that show the file's effect).
RULES_FILE_EVENTS = [
    pytest.param(
        '[[rule]]\nname = "django_500"\ntype = "error"\nseverity = "critical"\n'
        "pattern = 'Internal Server Error: (?P<path>\\S+)'\ntriggers = [\"Internal Server Error\"]\n",
        "ok\nInternal Server Error: /api/x\n",
        {"rule": "django_500", "severity": "critical", "metadata": {"path": "/api/x"}},
        id="a single-line rule with a trigger",
    ),
    pytest.param(
        '[[rule]]\nname = "report"\ntype = "error"\npattern = "^BEGIN REPORT"\n'
        'until = "^END REPORT"\ntriggers = ["begin report"]\n',
        "x\nBEGIN REPORT\na\nb\nEND REPORT\ny\n",
        {"line_start": 2, "line_end": 5},
        id="a multi-line rule with until",
    ),
    pytest.param(
        '[[rule]]\nname = "dump"\npattern = "^DUMP"\nmax_lines = 2\ntriggers = ["dump"]\n',
        "DUMP\na\nb\n",
        {"line_start": 1, "line_end": 2},
        id="a multi-line rule with max_lines",
    ),
    pytest.param(
        '[[rule]]\nname = "qps"\ntype = "metric"\npattern = \'qps (?P<value>[\\d.]+)\'\n'
        'metric_name = "qps"\ntriggers = ["qps "]\n',
        "served qps 12.5\n",
        {"metadata": {"value": 12.5, "name": "qps", "unit": ""}},
        id="a user metric rule",
    ),
    pytest.param(
        '[override.warning_generic]\nseverity = "error"\nrisk = "low"\nauto_confirmable = true\n',
        "warning: meh\n",
        {"severity": "error", "risk_level": "low", "auto_confirmable": True},
        id="a built-in rule's severity, risk and auto_confirmable overridden",
    ),
]


@pytest.mark.parametrize(("toml", "text", "expected"), RULES_FILE_EVENTS)
def test_a_rules_file_gives_its_event(tmp_path, toml, text, expected):
    (event,) = run(load_rules(write(tmp_path, toml)), text)
    assert {name: getattr(event, name) for name in expected} == expected


def test_disable_a_builtin(tmp_path):
    rules = load_rules(write(tmp_path, 'disable = ["metric_kv"]\n'))
    assert "metric_kv" not in rules.names()
    assert run(rules, "loss=0.1\n") == []


def test_disabling_code_fence_lets_rules_fire_inside_fences(tmp_path):
    rules = load_rules(write(tmp_path, 'disable = ["code_fence"]\n'))
    assert [e.event_type for e in run(rules, "```\nError: x\n```\n")] == ["error"]


def test_command_lists_can_be_extended(tmp_path):
    rules = load_rules(
        write(tmp_path, "[commands]\ndestructive = ['\\bterraform\\s+destroy\\b']\n")
    )
    (event,) = run(rules, "Run `terraform destroy`? [y/N]\n")
    assert event.risk_level == "high"
    assert rules.policy.risk_for_command("rm -rf x") == "high"


def test_command_lists_can_be_replaced(tmp_path):
    rules = load_rules(write(tmp_path, "[commands]\nreplace = true\nlow = ['make\\b']\n"))
    assert rules.policy.risk_for_command("make build") == "low"


@pytest.mark.parametrize(
    "text, message",
    [
        ("this is = not toml [", "invalid TOML"),
        ('[[rule]]\nname = "x"\npattern = "("\n', "bad regex in 'pattern'"),
        ('[[rule]]\nname = "x"\npattern = "a"\ncolour = "red"\n', "unknown key(s) colour"),
        ('[[rule]]\nname = "x"\npattern = "a"\ntype = "bogus"\n', "'type' must be one of"),
        ('[[rule]]\npattern = "a"\n', "'name' is required"),
        ('[[rule]]\nname = "x"\n', "'pattern' must be a non-empty string"),
        ('[[rule]]\nname = "log_error"\npattern = "a"\n', "name already used"),
        ('[[rule]]\nname = "m"\ntype = "metric"\npattern = "a"\n', "(?P<value>"),
        ('[[rule]]\nname = "x"\npattern = "a"\nuntil = "["\n', "bad regex in 'until'"),
        ('[[rule]]\nname = "x"\npattern = "a"\nmax_lines = 0\n', "max_lines"),
        ('disable = ["no_such_rule"]\n', "unknown rule 'no_such_rule'"),
        ('[override.no_such_rule]\nrisk = "low"\n', "unknown rule 'no_such_rule'"),
        ('[override.log_error]\nrisk = "extreme"\n', "'risk' must be one of"),
        ("[override.log_error]\ncolour = 1\n", "unknown key(s) colour"),
        ("[commands]\ndestructive = ['(']\n", "bad regex"),
        ("surprise = 1\n", "unknown key(s) surprise"),
    ],
)
def test_bad_rules_files_raise_clear_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_bad_rule_error_names_the_rule(tmp_path):
    with pytest.raises(RulesError, match="rule 'broken'"):
        load_rules(write(tmp_path, '[[rule]]\nname = "broken"\npattern = "(("\n'))


def test_missing_rules_file(tmp_path):
    with pytest.raises(RulesError, match="file not found"):
        load_rules(tmp_path / "nope.toml")


def test_a_rule_cannot_make_a_prompt_it_cannot_read_auto_confirmable(tmp_path):
    rules = load_rules(write(tmp_path, "[override.prompt_yes_no]\nauto_confirmable = true\n"))
    (unread,) = [e for e in run(rules, "Continue? [y/N]\n") if e.event_type == "prompt"]
    assert (unread.risk_level, unread.auto_confirmable) == ("high", False)
    (named,) = [e for e in run(rules, "Run `pip install x`? [y/N]\n") if e.event_type == "prompt"]
    assert (named.risk_level, named.auto_confirmable) == ("medium", True)
