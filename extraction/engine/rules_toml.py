"""User rules from a TOML file (docs/rules.md): new rules, overrides, disabled built-ins and the
risk policy's command patterns, checked with errors that name the file, the rule and the key.
"""

from __future__ import annotations

import os
import re
import tomllib

from . import blocks
from .events import EVENT_TYPES, RISK_LEVELS, SEVERITIES
from .risk import CommandPolicy
from .rules import (
    Builder,
    Rule,
    RulesError,
    RuleSet,
    builtin_rules,
    group_fields,
    int_fields,
    parse_number,
)

_RULE_KEYS = {"name", "type", "pattern", "severity", "risk", "auto_confirmable", "triggers", "until", "while",
              "max_lines", "ignore_case", "metric_name", "approve_key"}  # fmt: skip
_OVERRIDE_KEYS = {"severity", "risk", "auto_confirmable"}
_TOP_KEYS = {"rule", "override", "disable", "commands"}
_COMMAND_KEYS = {"destructive", "medium", "low", "replace"}


def _fail(path: str, where: str, what: str) -> RulesError:
    return RulesError(f"{path}: {where}: {what}")


def _compile_regex(path: str, where: str, key: str, pattern, ignore_case: bool):
    """A user's regex, compiled with RE2: it runs in time linear in the line, so no rule can
    hang the tap on a line it backtracks on (``^(a+)+$`` against "aaaa…b"). RE2 refuses what it
    cannot run that way (backreferences, lookarounds); the rule is refused, saying why."""
    if not isinstance(pattern, str) or not pattern:
        raise _fail(path, where, f"'{key}' must be a non-empty string")
    try:
        re.compile(pattern)  # Python's message for a plain syntax error is the clearer one
    except re.error as exc:
        raise _fail(path, where, f"bad regex in '{key}': {exc}") from None
    try:
        import re2
    except ImportError:
        raise _fail(path, where, "user rules need google-re2 (see requirements.txt)") from None
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "unsupported"
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise _fail(
            path,
            where,
            f"regex in '{key}' cannot be run in linear time ({reason}): backreferences and "
            "lookarounds are not supported in user rules",
        ) from None


def _check_choice(path: str, where: str, key: str, value, choices) -> None:
    if value not in choices:
        raise _fail(path, where, f"'{key}' must be one of {', '.join(choices)}, not {value!r}")


def _user_builder(event_type: str, metric_name: str | None, approve_key: str | None) -> Builder:
    def build(m: re.Match, line: str) -> dict | None:
        meta = int_fields(group_fields(m), "line", "col")
        if event_type == "metric":
            try:
                meta["value"] = parse_number(meta.get("value", ""))
            except ValueError:
                return None
            meta.setdefault("name", metric_name or "value")
            meta.setdefault("unit", "")
        elif event_type == "prompt":
            meta.setdefault("question", line.strip())
            meta.setdefault("options", [])
            meta["approve_key"] = approve_key
        return meta

    return build


def _user_rule(path: str, index: int, spec) -> Rule:
    if not isinstance(spec, dict):
        raise _fail(path, f"rule #{index + 1}", "each [[rule]] must be a table")
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
        raise _fail(path, f"rule #{index + 1}", "'name' is required (letters, digits, _ . -)")
    where = f"rule {name!r}"
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise _fail(
            path,
            where,
            f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_RULE_KEYS))}",
        )
    event_type = spec.get("type", "error")
    _check_choice(path, where, "type", event_type, [t for t in EVENT_TYPES if t != "code_block"])
    severity = spec.get(
        "severity", {"error": "error", "warning": "warning"}.get(event_type, "info")
    )
    _check_choice(path, where, "severity", severity, SEVERITIES)
    risk = spec.get("risk")
    if risk is not None:
        _check_choice(path, where, "risk", risk, RISK_LEVELS)
    auto = spec.get("auto_confirmable")
    if auto is not None and not isinstance(auto, bool):
        raise _fail(path, where, "'auto_confirmable' must be true or false")
    ignore_case = spec.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise _fail(path, where, "'ignore_case' must be true or false")
    pattern = _compile_regex(path, where, "pattern", spec.get("pattern"), ignore_case)
    if event_type == "metric" and "value" not in pattern.groupindex:
        raise _fail(path, where, "a metric rule's pattern needs a named group (?P<value>...)")
    triggers = spec.get("triggers")
    if triggers is not None:
        if (
            not isinstance(triggers, list)
            or not triggers
            or not all(isinstance(t, str) and t for t in triggers)
        ):
            raise _fail(path, where, "'triggers' must be a non-empty list of non-empty strings")
        triggers = tuple(t.lower() for t in triggers)
    until = spec.get("until")
    while_ = spec.get("while")
    max_lines = spec.get("max_lines")
    step = None
    if until is not None or while_ is not None or max_lines is not None:
        if max_lines is not None and (
            not isinstance(max_lines, int) or isinstance(max_lines, bool) or max_lines < 1
        ):
            raise _fail(path, where, "'max_lines' must be a positive integer")
        until_re = (
            _compile_regex(path, where, "until", until, ignore_case) if until is not None else None
        )
        while_re = (
            _compile_regex(path, where, "while", while_, ignore_case)
            if while_ is not None
            else None
        )
        step = blocks.make_user_step(until_re, while_re, max_lines or 200)
    return Rule(
        name=name,
        event_type=event_type,
        severity=severity,
        pattern=pattern,
        gates=triggers or (),
        category={"metric": "metric", "prompt": "prompt"}.get(event_type, "diag"),
        build=_user_builder(event_type, spec.get("metric_name"), spec.get("approve_key", "y")),
        step=step,
        risk=risk,
        auto_confirmable=auto,
        builtin=False,
        search=True,
        triggers=triggers,
    )


def _pattern_list(path: str, key: str, value) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise _fail(path, "[commands]", f"'{key}' must be a list of regex strings")
    out = []
    for i, regex in enumerate(value):
        _compile_regex(path, "[commands]", f"{key}[{i}]", regex, False)
        out.append((f"user_{key}_{i}", regex))
    return out


def rules_from_dict(data: dict, path: str = "<rules>") -> RuleSet:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(
            path,
            "top level",
            f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_TOP_KEYS))}",
        )
    rules = builtin_rules()
    by_name = {r.name: r for r in rules}

    disable = data.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(n, str) for n in disable):
        raise _fail(path, "disable", "must be a list of built-in rule names")
    for name in disable:
        if name not in by_name:
            raise _fail(
                path, "disable", f"unknown rule {name!r}; built-in rules: {', '.join(by_name)}"
            )

    overrides = data.get("override", {})
    if not isinstance(overrides, dict):
        raise _fail(path, "override", "must be a table of [override.RULE_NAME] tables")
    for name, spec in overrides.items():
        where = f"override {name!r}"
        if name not in by_name:
            raise _fail(path, where, f"unknown rule {name!r}; built-in rules: {', '.join(by_name)}")
        if not isinstance(spec, dict):
            raise _fail(path, where, "must be a table")
        bad = set(spec) - _OVERRIDE_KEYS
        if bad:
            raise _fail(
                path,
                where,
                f"unknown key(s) {', '.join(sorted(bad))}; allowed: {', '.join(sorted(_OVERRIDE_KEYS))}",
            )
        rule = by_name[name]
        if "severity" in spec:
            _check_choice(path, where, "severity", spec["severity"], SEVERITIES)
            rule.severity = spec["severity"]
            rule.build = _forced_severity(rule.build, spec["severity"])
        if "risk" in spec:
            _check_choice(path, where, "risk", spec["risk"], RISK_LEVELS)
            rule.risk = spec["risk"]
        if "auto_confirmable" in spec:
            if not isinstance(spec["auto_confirmable"], bool):
                raise _fail(path, where, "'auto_confirmable' must be true or false")
            rule.auto_confirmable = spec["auto_confirmable"]

    user_specs = data.get("rule", [])
    if not isinstance(user_specs, list):
        raise _fail(path, "rule", "use [[rule]] tables (an array of tables)")
    user_rules = [_user_rule(path, i, spec) for i, spec in enumerate(user_specs)]
    seen = set(by_name)
    for rule in user_rules:
        if rule.name in seen:
            raise _fail(
                path,
                f"rule {rule.name!r}",
                "name already used (disable or override the built-in instead)",
            )
        seen.add(rule.name)

    policy = CommandPolicy()
    commands = data.get("commands", {})
    if not isinstance(commands, dict):
        raise _fail(path, "commands", "must be a table")
    bad = set(commands) - _COMMAND_KEYS
    if bad:
        raise _fail(
            path,
            "[commands]",
            f"unknown key(s) {', '.join(sorted(bad))}; allowed: {', '.join(sorted(_COMMAND_KEYS))}",
        )
    replace = commands.get("replace", False)
    if not isinstance(replace, bool):
        raise _fail(path, "[commands]", "'replace' must be true or false")
    for key in ("destructive", "medium", "low"):
        if key in commands:
            extra = _pattern_list(path, key, commands[key])
            setattr(policy, key, extra if replace else getattr(policy, key) + extra)
    policy.compile()

    kept = [r for r in rules if r.name not in disable]
    # User rules come first among the line rules: they win over a built-in on the same line.
    fences = [r for r in kept if r.category == "fence"]
    others = [r for r in kept if r.category != "fence"]
    return RuleSet(fences + user_rules + others, policy)


def _forced_severity(build: Builder | None, severity: str) -> Builder:
    def build_with_severity(m: re.Match, line: str) -> dict | None:
        meta = build(m, line) if build else {}
        if meta is not None:
            meta["_severity"] = severity
        return meta

    return build_with_severity


def load_rules(path: str | os.PathLike | None) -> RuleSet:
    """The built-in rules, adjusted by the TOML file at `path` (None: built-ins only)."""
    if path is None:
        return RuleSet()
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise RulesError(f"{path}: file not found") from None
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: invalid TOML: {exc}") from None
    return rules_from_dict(data, path)
