"""The built-in rules and the RuleSet that holds them with the risk policy.

User rules come from a TOML file (``rules_toml.py``); the sweeps that pick candidate lines run
on hyperscan when it is there (``hyperscan_db.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import blocks, hyperscan_db, log_formats, prompts
from .risk import CommandPolicy

Builder = Callable[[re.Match, str], "dict | None"]


class RulesError(ValueError):
    """A rules file (or rule definition) that cannot be used; the message says where and why."""


@dataclass(eq=False)
class Rule:
    name: str
    event_type: str
    severity: str
    pattern: re.Pattern
    # Lowercase literals: the rule is only tried on a line (lowercased) containing one of them.
    # Empty means "try on every candidate line".
    gates: tuple[str, ...] = ()
    # "diag" (error/warning: the first match on a line wins), "metric" (all matches, one
    # event each), "prompt" or "fence".
    category: str = "diag"
    build: Builder | None = None
    step: Callable | None = None
    risk: str | None = None
    auto_confirmable: bool | None = None
    builtin: bool = True
    # Match anywhere in the line instead of at its start.
    search: bool = False
    # User rules: lowercase literals for the chunk prefilter; None means "every line".
    triggers: tuple[str, ...] | None = None
    # Built-in rules: a cheap test that every line the pattern matches passes (None: none).
    line_gate: Callable[[str], bool] | None = None


# --- builders ---------------------------------------------------------------------------


def group_fields(m: re.Match) -> dict:
    return {k: v for k, v in m.groupdict().items() if v is not None}


def int_fields(meta: dict, *names: str) -> dict:
    for name in names:
        if name in meta and meta[name].isdigit():
            meta[name] = int(meta[name])
    return meta


def build_plain(m: re.Match, line: str) -> dict:
    return int_fields(group_fields(m), "line", "col")


_LEVELS = {
    "error": ("error", "error"),
    "err": ("error", "error"),
    "fatal": ("error", "critical"),
    "critical": ("error", "critical"),
    "crit": ("error", "critical"),
    "panic": ("error", "critical"),
    "severe": ("error", "error"),
    "warn": ("warning", "warning"),
    "warning": ("warning", "warning"),
}


def build_compiler(m: re.Match, line: str) -> dict:
    meta = group_fields(m)
    if "line2" in meta:
        meta["line"], meta["col"] = meta.pop("line2"), meta.pop("col2")
    int_fields(meta, "line", "col")
    kind = meta.pop("kind")
    meta.pop("fatal", None)
    if kind.endswith("warning"):
        meta["_type"], meta["_severity"] = "warning", "warning"
    elif kind.startswith("fatal"):
        meta["_severity"] = "critical"
    return meta


def build_exception(m: re.Match, line: str) -> dict:
    return {"exception": m.group("exc"), "message": m.group("msg")}


_RUST_LOCATION = r"(?P<file>[^\s:']+):(?P<line>\d+)(?::(?P<col>\d+))?"
# Rust 1.73 and later: `… panicked at src/main.rs:2:5:`, the message on the next line.
_RUST_PANIC_NEW_RE = re.compile(_RUST_LOCATION + ":")
# Before: `… panicked at 'boom', src/main.rs:2:5`.
_RUST_PANIC_OLD_RE = re.compile(r"'(?P<message>.*)', " + _RUST_LOCATION)


def build_rust_panic(m: re.Match, line: str) -> dict:
    meta = {"thread": m.group("thread")}
    rest = m.group("rest")
    new = _RUST_PANIC_NEW_RE.fullmatch(rest)
    if new:
        meta.update(int_fields(group_fields(new), "line", "col"))
        meta["_state"] = {"message_next": True}
        return meta
    old = _RUST_PANIC_OLD_RE.fullmatch(rest)
    if old:
        meta.update(int_fields(group_fields(old), "line", "col"))
    else:  # An old-style message that goes on over the next lines.
        meta["message"] = rest.removeprefix("'")
    return meta


_SIGNALS = {
    "Segmentation fault": "SIGSEGV",
    "Bus error": "SIGBUS",
    "Killed": "SIGKILL",
    "Aborted": "SIGABRT",
}


def build_signal_death(m: re.Match, line: str) -> dict:
    return {"signal": _SIGNALS[m.group("name")], "core_dumped": m.group("core") is not None}


_GLOG_LEVELS = {
    "E": ("ERROR", "error", "error"),
    "F": ("FATAL", "error", "critical"),
    "W": ("WARNING", "warning", "warning"),
}


def build_glog(m: re.Match, line: str) -> dict:
    level, event_type, severity = _GLOG_LEVELS[m.group("level")]
    meta = {"level": level, "file": m.group("file"), "line": int(m.group("line"))}
    meta.update(message=m.group("message"), _type=event_type, _severity=severity)
    return meta


def build_traceback_start(m: re.Match, line: str) -> dict:
    return {"_state": {"prefix": m.group("prefix")}}


def build_npm(m: re.Match, line: str) -> dict:
    kind = blocks.npm_kind(m.group("level"))
    meta: dict = {"_state": {"kind": kind}}
    if kind == "warn":
        meta["_type"], meta["_severity"] = "warning", "warning"
    return meta


def build_fence(m: re.Match, line: str) -> dict:
    return {"language": m.group("lang").strip("{}.").lower(), "_state": {"fence": m.group("fence")}}


def parse_number(text: str) -> float:
    return float(text.replace(",", ""))


_METRIC_ALIASES = {
    "tokens used": "tokens_used",
    "total tokens": "tokens_used",
    "tokens": "tokens_used",
    "total_tokens": "tokens_used",
    "token usage": "tokens_used",
}


def build_metric(m: re.Match, line: str) -> dict | None:
    raw_name = " ".join(m.group("name").lower().split())
    name = _METRIC_ALIASES.get(raw_name, raw_name)
    try:
        value = parse_number(m.group("value"))
    except ValueError:
        return None
    unit = (m.group("unit") or "").strip()
    if m.group("currency"):
        unit = "$"
    if name == "tokens_used" and not unit:
        unit = "tokens"
    meta = {"name": name, "value": value, "unit": unit}
    if name == "tokens_used":
        meta["_rule"] = "tokens_used"
    return meta


def build_progress(m: re.Match, line: str) -> dict:
    return {
        "name": m.group("name").lower(),
        "value": float(m.group("value")),
        "unit": "",
        "total": float(m.group("total")),
    }


_COUNT_RE = re.compile(
    r"(\d+) (passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?)"
)


def build_pytest_summary(m: re.Match, line: str) -> dict:
    counts = {"passed": 0, "failed": 0}
    for number, word in _COUNT_RE.findall(m.group("counts")):
        key = {"error": "errors", "warning": "warnings"}.get(word, word)
        counts[key] = counts.get(key, 0) + int(number)
    return {
        "name": "tests",
        "value": counts["passed"],
        "unit": "tests",
        **counts,
        "duration_s": float(m.group("dur")),
    }


def build_unittest(m: re.Match, line: str) -> dict:
    return {
        "name": "tests",
        "value": int(m.group("n")),
        "unit": "tests",
        "ran": int(m.group("n")),
        "duration_s": float(m.group("dur")),
    }


# --- built-in rules -----------------------------------------------------------------------

_LOG_KV_RE = re.compile(
    r"(?i)(?:^|[\s{,])(?:level|lvl|severity|levelname)=\"?(?P<level>error|err|fatal|critical|crit|panic|warn|warning)\b"
    r"|\"(?:level|lvl|severity|levelname)\"\s*:\s*\"(?P<level2>error|err|fatal|critical|crit|panic|warn|warning)\""
)


def build_log_kv(m: re.Match, line: str) -> dict:
    level = m.group("level") or m.group("level2")
    event_type, severity = _LEVELS[level.lower()]
    return {"level": level.upper(), "_type": event_type, "_severity": severity}


_METRIC_NAMES = (
    r"(?:(?:val|train|test|eval|valid|validation)_)?"
    r"(?:loss|accuracy|acc|precision|recall|f1(?:_score)?|auc|roc_auc|mse|mae|rmse|perplexity|ppl|bleu"
    r"|lr|learning_rate|grad_norm|reward|throughput|latency|duration|elapsed|cost|wer|cer)"
    r"|tokens used|total tokens|total_tokens|token usage|tokens|epoch"
)
# A number not followed by more of a version, time or path ("1.2.3", "12:00", "1/2").
_METRIC_RE = re.compile(
    r"(?i)(?<![\w.-])(?P<name>" + _METRIC_NAMES + r")\s*[=:]\s*(?P<currency>\$)?"
    r"(?P<value>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?|[-+]?\.\d+|nan|inf)"
    r"(?P<unit>\s?(?:%|ms|s|sec|seconds|tokens|tok/s|tokens/s|it/s|samples/s|req/s)(?![\w/])|)"
    r"(?![\w.:/-]|,\d)"
)

# Every _METRIC_RE match holds one of these names, then optional whitespace and "=" or ":".
# Searched on the reversed line, that starts with a character class, which the regex engine
# scans for quickly, instead of an alternation of words tried at every position.
_METRIC_GATE_NAMES = (
    "loss", "accuracy", "acc", "precision", "recall", "f1", "f1_score", "auc", "roc_auc", "mse", "mae",
    "rmse", "perplexity", "ppl", "bleu", "lr", "learning_rate", "grad_norm", "reward", "throughput",
    "latency", "duration", "elapsed", "cost", "wer", "cer", "tokens used", "total tokens",
    "total_tokens", "token usage", "tokens", "epoch",
)  # fmt: skip
_METRIC_GATE_RE = re.compile(
    r"[=:]\s*(?i:" + "|".join(re.escape(n[::-1]) for n in _METRIC_GATE_NAMES) + ")"
)


def metric_gate(line: str) -> bool:
    return _METRIC_GATE_RE.search(line[::-1]) is not None


def tool_rules() -> list[Rule]:
    """One-line (or short) reports of common tools that name no level."""
    R, c, tool = Rule, re.compile, log_formats.build_tool_error
    return [
        R("pytest_section", "error", "error", c(r"=+ (?P<section>FAILURES|ERRORS|warnings summary) =+$"),
          ("failures", "errors", "warnings summary"), "diag", log_formats.build_pytest_section,
          blocks.step_pytest_section),
        R("unittest_failure", "error", "error", c(r"(?P<kind>FAIL|ERROR): (?P<test>\S+) \([^)]*\)$"),
          ("fail: ", "error: "), "diag", log_formats.build_unittest_failure, blocks.step_unittest),
        R("go_error", "error", "error", c(
            r"(?:\./)?(?P<file>[\w./-]+\.go):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)"), (".go:",), "diag", tool),
        R("linker_error", "error", "error", c(
            r".*?undefined reference to (?P<symbol>.*)|collect2: error: (?P<message>.*)"),
          ("undefined reference", "collect2: error"), "diag", tool, blocks.step_linker),
        R("make_error", "error", "error", c(r"(?:g?make)(?:\[\d+\])?: \*\*\* (?P<message>.*)"), ("*** ",), "diag",
          tool),
        R("git_conflict", "error", "error", c(
            r"(?:CONFLICT \((?P<kind>[^)]+)\): |Automatic merge failed; )(?P<message>.*)"),
          ("conflict", "automatic merge failed"), "diag", tool),
        R("ssh_error", "error", "error", c(
            r"(?:(?P<target>\S+): )?Permission denied \((?P<methods>[\w,-]+)\)\.?\s*$"
            r"|ssh: connect to host (?P<host>\S+) port (?P<port>\d+): (?P<message>.*)"),
          ("permission denied (", "ssh: "), "diag", tool),
        R("coreutils_error", "error", "error", c(
            r"(?P<tool>rm|cp|mv|ls|ln|mkdir|rmdir|chmod|chown|touch|cat): cannot (?P<message>.*)"),
          ("cannot ",), "diag", tool),
        R("node_error", "error", "error", c(
            r"(?P<file>node:[\w/]+|(?:file://)?/\S+\.[cm]?js|[A-Za-z]:\\\S+\.[cm]?js):(?P<line>\d+)$"),
          ("node:", "js:"), "diag", log_formats.build_node_report, blocks.step_node_report),
        R("node_warning", "warning", "warning", c(
            r"\(node(?::\d+)?\) (?:\[(?P<code>\w+)\] )?(?P<category>\w*Warning|warning): (?P<message>.*)"),
          ("(node",), "diag", tool, blocks.step_node_warning),
        R("aider_warning", "warning", "warning", c(r"> Warning(?: for [^:]+)?: (?P<message>.*)"),
          ("> warning",), "diag", tool),
        R("systemd_failure", "error", "error", c(
            r".*?systemd\[\d+\]: (?:Failed to start (?P<unit>.+)|(?P<warn>\S+): Failed with result '(?P<result>[^']+)'\.?$)"),
          ("systemd[",), "diag", tool),
    ]  # fmt: skip


class _MetricPattern:
    """Known metric names (`loss: 0.5`, `accuracy=93%`, `Tokens used: 1,234`) and any other
    `name=number` (`retries=3`): the matches of both, in the order they stand in the line."""

    def finditer(self, line: str) -> list[re.Match]:
        found = list(_METRIC_RE.finditer(line)) if metric_gate(line) else []
        if log_formats.field_gate(line):
            found += log_formats.FIELD_RE.finditer(line)
            found.sort(key=re.Match.start)
        return found


def build_kv(m: re.Match, line: str) -> dict | None:
    return build_metric(m, line) if m.re is _METRIC_RE else log_formats.build_field(m, line)


def builtin_rules() -> list[Rule]:
    R = Rule
    c = re.compile
    return [
        R("code_fence", "code_block", "info", c(r"[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^`\s]*)[^`]*$"),
          ("```", "~~~"), "fence", build_fence, blocks.step_fence),
        R("npm_error", "error", "error", c(r"npm (?P<level>ERR!|error|WARN|warn)(?: |$)"), ("npm",), "diag",
          build_npm, blocks.step_npm),
        R("python_traceback", "error", "error", c(r"(?P<prefix>[ \t]*)Traceback \(most recent call last\):"),
          ("traceback",), "diag", build_traceback_start, blocks.step_traceback),
        R("go_panic", "error", "critical", c(r"panic: (?P<message>.*)"), ("panic: ",), "diag", build_plain,
          blocks.step_go_panic),
        R("rust_panic", "error", "critical", c(r"thread '(?P<thread>[^']*)'(?: \(\d+\))? panicked at (?P<rest>.*)"),
          ("panicked at",), "diag", build_rust_panic, blocks.step_rust_panic),
        R("killed_by_signal", "error", "critical", c(
            r"[ \t]*(?P<name>Segmentation fault|Bus error|Killed|Aborted)(?:: \d+)?(?P<core> \(core dumped\))?[ \t]*$"),
          ("segmentation fault", "bus error", "killed", "aborted"), "diag", build_signal_death),
        R("glog_error", "error", "error", c(
            r"(?P<level>[EFW])\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ (?P<file>[^\s:\]]+):(?P<line>\d+)\] (?P<message>.*)"),
          ("] ",), "diag", build_glog),
        R("rust_error", "error", "error", c(r"error\[(?P<code>E\d{4})\]: (?P<message>.*)"), ("error[",), "diag",
          build_plain, blocks.step_indented),
        R("compiler_error", "error", "error", c(
            r"(?P<file>[^\s:(][^\s:(]*)(?::(?P<line>\d+)(?::(?P<col>\d+))?:?|\((?P<line2>\d+),(?P<col2>\d+)\):?)"
            r"(?: -)? (?P<kind>(?:fatal )?error|warning)(?: (?P<code>[A-Z]+\d+))?: ?(?P<message>.*)"),
          ("error", "warn"), "diag", build_compiler, blocks.step_indented),
        R("python_warning", "warning", "warning", c(
            r"(?:(?P<file>\S[^:\n]*?):(?P<line>\d+): )?(?P<category>[A-Z]\w*Warning): (?P<message>.*)"),
          ("warning: ",), "diag", build_plain, blocks.step_indented),
        R("pytest_failed", "error", "error", c(
            r"(?:FAILED (?P<test>\S+::\S+)|ERROR (?P<test2>\S+\.py(?:::\S+)?))(?: - (?P<message>.*))?$"),
          ("failed ", "error "), "diag", log_formats.build_pytest_failed),
        *tool_rules()[:2],  # before log_error: "ERROR: test (…)" opens unittest's report
        R("log_error", "error", "error", log_formats.LEVEL_COLUMN, (), "diag",
          log_formats.build_level, blocks.step_log_record),
        *tool_rules()[2:],
        R("log_error_structured", "error", "error", _LOG_KV_RE, ("level", "lvl", "severity"), "diag",
          build_log_kv, search=True),
        R("python_exception", "error", "error", c(
            r"(?:Exception in thread \"[^\"]*\" )?(?:[A-Za-z_]\w*\.)*(?P<exc>[A-Z]\w*(?:Error|Exception)|Exception): (?P<msg>\S.*)"),
          ("error: ", "exception: "), "diag", build_exception, blocks.step_exception),
        R("error_generic", "error", "error", c(r"(?:error|Error|fatal)(?:\[[\w-]+\])?: (?P<message>\S.*)"),
          ("error", "fatal: "), "diag", build_plain, blocks.step_exception),
        R("warning_generic", "warning", "warning", c(r"(?:warning|Warning)(?:\[[\w-]+\])?: (?P<message>\S.*)"),
          ("warning",), "diag", build_plain, blocks.step_indented),
        R("metric_kv", "metric", "info", _MetricPattern(), (), "metric", build_kv),
        R("unittest_result", "metric", "info", c(r"(?P<status>FAILED|OK) \((?P<counts>\w+=\d+(?:, \w+=\d+)*)\)$"),
          ("failed (", "ok ("), "metric", log_formats.build_unittest_result),
        R("cargo_test_result", "metric", "info", c(
            r"test result: (?P<status>ok|FAILED)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; "
            r"(?P<ignored>\d+) ignored;.* finished in (?P<dur>\d+(?:\.\d+)?)s"), ("test result: ",), "metric",
          log_formats.build_cargo_result),
        R("build_finished", "metric", "info", c(
            r"[ \t]*Finished .* in (?P<value>\d+(?:\.\d+)?)(?P<unit>m?s)[ \t]*$"), ("finished ",), "metric",
          log_formats.build_duration),
        R("npm_summary", "metric", "info", c(
            r"(?:added|removed|changed|up to date|audited) .*\bin (?P<value>\d+(?:\.\d+)?)(?P<unit>m?s)[ \t]*$"),
          ("added ", "removed ", "changed ", "up to date", "audited "), "metric", log_formats.build_duration),
        R("epoch_progress", "metric", "info", c(r"(?i)\b(?P<name>epoch)\s+(?P<value>\d+)\s*/\s*(?P<total>\d+)\b"),
          ("epoch",), "metric", build_progress),
        R("pytest_summary", "metric", "info", c(
            r"(?P<counts>\d+ (?:passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?)"
            r"(?:, \d+ (?:passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?))*)"
            r" in (?P<dur>\d+(?:\.\d+)?)s\b"), (" in ",), "metric", build_pytest_summary),
        R("unittest_summary", "metric", "info", c(r"Ran (?P<n>\d+) tests? in (?P<dur>\d+(?:\.\d+)?)s"), ("ran ",),
          "metric", build_unittest),
        R("prompt_yes_no", "prompt", "info", prompts.YES_NO_RE, ("/",), "prompt", prompts.build_yes_no),
        R("prompt_options", "prompt", "info", prompts.LETTER_OPTIONS_RE, ("(y)",), "prompt",
          prompts.build_letter_options),
        R("prompt_file", "prompt", "info", prompts.RM_RE, ("rm: ", "cp: ", "mv: ", "ln: "), "prompt",
          prompts.build_file_question),
        R("prompt_overwrite", "prompt", "info", prompts.OVERWRITE_RE, ("overwrite",), "prompt",
          prompts.build_file_question),
        R("prompt_password", "prompt", "info", prompts.PASSWORD_RE, ("pass",), "prompt", prompts.build_password,
          risk="high", auto_confirmable=False),
    ]  # fmt: skip


# Chunk prefilter for the built-in rules: regexes over the lowercased chunk, each starting with
# a literal so that the regex engine can search for it quickly (an alternation of many
# words has no literal prefix and runs about ten times slower). Every line a built-in rule can
# match contains a hit of one of these.
def _lookbehinds(variants: list[str]) -> str:
    # One lookbehind per width: Python needs the alternatives of a lookbehind to be of one width.
    by_width: dict[int, list[str]] = {}
    for variant in variants:
        by_width.setdefault(len(variant), []).append(re.escape(variant))
    return "|".join(f"(?<={'|'.join(v)})" for _, v in sorted(by_width.items()))


_SWEEP_METRIC_NAMES = [
    "loss", "accuracy", "acc", "precision", "recall", "f1", "f1_score", "auc", "mse", "mae", "rmse",
    "perplexity", "ppl", "bleu", "lr", "learning_rate", "grad_norm", "reward", "throughput", "latency",
    "duration", "elapsed", "cost", "wer", "cer", "tokens used", "total tokens", "total_tokens",
    "token usage", "tokens", "epoch",
]  # fmt: skip


def _metric_sweep(sep: str, extra: str = "") -> str:
    names = [v for n in _SWEEP_METRIC_NAMES for v in (n + sep, n + " " + sep)]
    # The digit lookahead fails fast at the many ":" and "=" of ordinary output.
    return re.escape(sep) + r"(?:(?=[-+$.\d])(?:" + _lookbehinds(names) + ")" + extra + ")"


# Chunk prefilter for the built-in rules: regexes over a lowercased ASCII image of the chunk.
# Each is one pass over the text, so there are few of them, each starting with a literal so that
# the regex engine can search for it quickly (an alternation of many words has no literal prefix
# and runs about ten times slower); rarer triggers ride along as lookbehinds on a shared ": ",
# "=" or "/". Every line a built-in rule matches in feed() contains a hit of one of these.
_TOOL_PREFIXES = ["rm", "cp", "mv", "ln", "ls", "cat", "mkdir", "rmdir", "chmod", "chown", "touch", "ssh",
                  "exception"]  # fmt: skip

BUILTIN_SWEEPS = (
    "err", "warn", r"fa(?:tal|il)", "crit", "panic", "traceback", "severe", "emerg", "alert",
    "```", "~~~",
    r"pass(?:word|phrase|code)",
    r" in (?=\d+(?:\.\d+)?s\b)",  # test and build summaries
    r"added (?=\d+ packages?)", "audited",  # npm
    "epoch",
    "killed", "aborted", "segmentation fault",
    r"\] (?<=\d\] )",  # glog: "file.go:42] "
    _metric_sweep("="),
    _metric_sweep(": ", "|" + _lookbehinds([p + ": " for p in _TOOL_PREFIXES])),
    r"/(?:n[\])]|no[\])/]|\(n\))",  # [y/N] (y/n) (yes/no) (yes/no/[fingerprint]) (Y)es/(N)o
    # key=number anywhere, but not id=, pid=, … (the most common fields that measure nothing)
    r"=(?:(?<=[a-ce-z0-9_]=)|(?<=[a-hj-z0-9_]d=))(?=[-+]?\.?\d)",
    r" [efwa][ /](?<=\d [efwa][ /])", r"(?<![^\n])[efwa]/",  # logcat
    r" # (?<=\d # )",  # redis
    r"<(?=\d{1,3}>)", "priority",  # syslog, journald
    r"\*\*\* ", "conflict", "permission denied", "node:", r"\(node\)", r"\.[cm]?js:(?=\d)",
    r"\.go:(?=\d)", "test result: ", "undefined reference", r"ok \(",
)  # fmt: skip


# The same sweeps for hyperscan, which has no lookarounds: a lookbehind that follows a literal
# and a lookahead that ends a pattern become plain text, which gives a match on exactly the
# same lines (no sweep can match a newline). Matched caselessly on the ASCII image, unlowered.
def _hyperscan_sweeps() -> list[bytes]:
    names = "|".join(re.escape(n) for n in _SWEEP_METRIC_NAMES)
    return [
        b"err", b"warn", b"fa(?:tal|il)", b"crit", b"panic", b"traceback", b"severe", b"emerg", b"alert",
        b"```", b"~~~",
        b"pass(?:word|phrase|code)",
        rb" in \d+(?:\.\d+)?s\b",
        rb"added \d+ packages?", b"audited",
        b"epoch",
        b"killed", b"aborted", b"segmentation fault",
        rb"\d\] ",
        f"(?:{names}) ?=[-+$.\\d]".encode(),
        f"(?:{names}) ?: [-+$.\\d]".encode(), f"(?:{'|'.join(_TOOL_PREFIXES)}): ".encode(),
        rb"/(?:n[\])]|no[\])/]|\(n\))",
        # (hyperscan scans these far faster than a class of the two separators or a "^|" branch)
        rb"(?:[a-ce-z0-9_]|[a-hj-z0-9_]d)=[-+]?\.?\d",
        rb"\d [efwa] ", rb"\d [efwa]/", rb"(?:^|\n)[efwa]/",
        rb"\d # ",
        rb"<\d{1,3}>", b"priority",
        rb"\*\*\* ", b"conflict", b"permission denied", b"node:", rb"\(node\)", rb"\.[cm]?js:\d",
        rb"\.go:\d", b"test result: ", b"undefined reference", rb"ok \(",
    ]  # fmt: skip


# --- the rule set ---
class RuleSet:
    """Compiled built-in and user rules plus the risk policy; build once, share freely."""

    def __init__(self, rules: list[Rule] | None = None, policy: CommandPolicy | None = None):
        self.rules = rules if rules is not None else builtin_rules()
        self.policy = policy or CommandPolicy()
        self.compile()

    @classmethod
    def default(cls) -> RuleSet:
        return cls()

    def names(self) -> list[str]:
        return [rule.name for rule in self.rules]

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def compile(self) -> None:
        self.fence_rules = [r for r in self.rules if r.category == "fence"]
        self.line_rules = [r for r in self.rules if r.category != "fence"]
        # What the per-line loop reads of each rule, unpacked once.
        self.line_table = [(r, r.category, r.gates) for r in self.line_rules]
        # Every distinct gate, tested once per candidate line; the rules a line's set of gates
        # lets through are looked up (see line_plan) instead of testing each rule's gates.
        self.gate_words = sorted({g for r in self.line_rules for g in r.gates})
        self._plans: dict[tuple[str, ...], list[tuple[Rule, str]]] = {}
        self._mask_plans: dict[int, list[tuple[Rule, str]]] = {}
        # The same gates for hyperscan, which finds them in all candidate lines of a chunk in
        # one pass (Extractor._gate_masks): match id i is gate_words[i], matched on lowercased
        # ASCII text, where caseless matching of the lowercase literals is exact.
        self.gate_hyperscan = None
        if self.gate_words and all(
            g.isascii() and g == g.lower() and "\n" not in g for g in self.gate_words
        ):
            self.gate_hyperscan = hyperscan_db.database(
                [b"".join(b"\\x%02x" % c for c in g.encode()) for g in self.gate_words],
                cached=False,
            )
        self.prompt_rules = [r for r in self.rules if r.category == "prompt"]
        builtin = any(r.builtin for r in self.rules)
        sweeps = list(BUILTIN_SWEEPS) if builtin else ["```", "~~~"]
        hs_sweeps = _hyperscan_sweeps() if builtin else [b"```", b"~~~"]
        self.every_line = False
        for rule in self.rules:
            if rule.builtin:
                continue
            if rule.triggers is None:
                self.every_line = True
            else:
                literals = [re.escape(t.encode("ascii", "replace").decode()) for t in rule.triggers]
                sweeps.extend(literals)
                hs_sweeps.extend(t.encode() for t in literals)
        # The sweeps run over an ASCII image of the text (see Extractor._process_region).
        self.sweeps = [re.compile(s.encode()) for s in sweeps]
        # A trigger holding a newline would make a match span lines: keep the plain sweeps then.
        self.hyperscan = None
        if not self.every_line and not any(b"\n" in s for s in hs_sweeps):
            self.hyperscan = hyperscan_db.database(hs_sweeps)

    def line_plan(self, low: str) -> list[tuple[Rule, str]]:
        """(rule, category) of every line rule whose gates let a lowercased line through, in the
        rules' order: the rules without gates and those with a gate in ``low``."""
        key = tuple([g for g in self.gate_words if g in low])
        plan = self._plans.get(key)
        if plan is None:
            plan = self._remember(self._plans, key, set(key))
        return plan

    def mask_plan(self, mask: int) -> list[tuple[Rule, str]]:
        """``line_plan`` for a line whose gates are the set bits of ``mask`` (bit i:
        ``gate_words[i]``), as ``gate_hyperscan`` reports them."""
        plan = self._mask_plans.get(mask)
        if plan is None:
            words = self.gate_words
            present = {words[i] for i in range(len(words)) if mask >> i & 1}
            plan = self._remember(self._mask_plans, mask, present)
        return plan

    def _remember(self, plans: dict, key, present: set[str]) -> list[tuple[Rule, str]]:
        plan = [
            (rule, category)
            for rule, category, gates in self.line_table
            if not gates or not present.isdisjoint(gates)
        ]
        if len(plans) >= _MAX_PLANS:
            plans.clear()
        plans[key] = plan
        return plan


# Distinct sets of gates remembered (a few dozen in practice; bounded for odd output).
_MAX_PLANS = 4096


# Deprecated here, kept for one release: the loader's own module is rules_toml. Looked up on
# first use (PEP 562): rules_toml imports this module, so importing it from here at import time
# broke whichever of the two was imported first as rules_toml (`from extraction.engine import
# load_rules` in a fresh process raised ImportError).
_MOVED_TO_RULES_TOML = ("load_rules", "rules_from_dict")


def __getattr__(name):
    if name in _MOVED_TO_RULES_TOML:
        from . import rules_toml

        return getattr(rules_toml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Builder",
    "Rule",
    "RuleSet",
    "RulesError",
    "builtin_rules",
]
