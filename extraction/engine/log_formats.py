"""Log levels where the standard formats put them, and the one-line reports of common tools.

A level is a column in a known position of a known format, never a word anywhere in the line:
`INFO worker: errors=0 after warm-up` is an INFO line. Each format here is anchored at the start
of the line and names the level's column; the first that matches decides the line.
"""

from __future__ import annotations

import re

# Level spellings, lowercased, and what they mean.
LEVELS = {
    "error": ("error", "error"), "err": ("error", "error"), "severe": ("error", "error"),
    "failure": ("error", "error"), "fail": ("error", "error"), "e": ("error", "error"),
    "fatal": ("error", "critical"), "critical": ("error", "critical"), "crit": ("error", "critical"),
    "panic": ("error", "critical"), "emerg": ("error", "critical"), "alert": ("error", "critical"),
    "f": ("error", "critical"), "a": ("error", "critical"),
    "warn": ("warning", "warning"), "warning": ("warning", "warning"), "w": ("warning", "warning"),
    "#": ("warning", "warning"),
}  # fmt: skip
# syslog severities (RFC 5424): 0 emerg … 3 err, 4 warning.
SYSLOG_SEVERITIES = {0: "emerg", 1: "alert", 2: "crit", 3: "err", 4: "warning"}

_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z| ?[+-]\d{2}:?\d{2})?"
_STAMP = (
    r"(?:\[?" + _ISO + r"\]?"
    r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"  # Go's log, nginx
    r"|\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"  # Spark
    r"|\d{6} \d{6}"  # HDFS
    r"|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"  # syslog
    r"|\[?\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]?)"  # logback's default
)
_UPPER = r"ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE|FAILURE|EMERG|ALERT|WARNING|WARN"
_ANY_LEVEL = _UPPER + r"|INFO|DEBUG|TRACE|NOTICE|LOG|NOTE|FINE|CONFIG|VERBOSE|STATEMENT|DETAIL|HINT"
# Between the timestamp and the level: at most three tokens (a pid, a [thread], a logger, a
# timezone), none of them itself a level, so that "INFO: retrying after ERROR" stays INFO.
_TOKEN = r"(?!(?i:" + _ANY_LEVEL + r")\b)(?:\[[^\]]{0,80}\]|[\w.:/<>@#$-]+)"

FORMATS: list[tuple[str, re.Pattern]] = [
    # Apache httpd: [Tue Mar 10 09:12:01 2026] [error] …, 2.4: [… 2026] [core:error] [pid …] …
    ("apache", re.compile(
        r"\[[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4}\] "
        r"\[(?:[\w-]+:)?(?P<level>emerg|alert|crit|error|warn)\]")),
    # Android logcat, threadtime (11-02 08:01:22.115   812   930 E Tag: …), time and brief (E/Tag( 812): …)
    ("logcat", re.compile(
        r"(?:\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} +(?:\d+ +\d+ (?P<level>[EFWA]) |(?P<level2>[EFWA])/)"
        r"|(?P<level3>[EFWA])/[^\s(:]+(?:\( *\d+\))?: )")),
    # Ruby's Logger: E, [2026-03-10T09:12:01.338 #1234] ERROR -- app: …
    ("ruby", re.compile(r"[DIWEFA], \[[^\]]+\] +(?P<level>ERROR|FATAL|WARN|ANY) -- ")),
    # Elasticsearch: [2026-03-10T09:12:01,338][WARN ][o.e.…]
    ("elasticsearch", re.compile(r"\[" + _ISO + r"\]\[(?P<level>ERROR|FATAL|WARN) *\]")),
    # Windows CBS: 2016-09-28 04:30:30, Error                 CBS …
    ("cbs", re.compile(_ISO + r", (?P<level>Error|Warning) {2,}")),
    # BGL and other Blue Gene RAS logs: … RAS KERNEL FATAL …
    ("ras", re.compile(
        r"\S+ \d{9,10} \d{4}\.\d{2}\.\d{2} \S+ \d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+ \S+ RAS \w+ "
        r"(?P<level>FATAL|SEVERE|FAILURE|ERROR|WARNING)\b")),
    # Redis: 1234:M 10 Mar 2026 09:12:01.338 # … ("#" is its warning level)
    ("redis", re.compile(r"\d+:[MSCX] \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} (?P<level>#) ")),
    # dmesg -x: kern  :err   : [   12.3] …
    ("dmesg", re.compile(r"[a-z]+ *:(?P<level>emerg|alert|crit|err|warn) *: ")),
    # syslog with a program's own lowercase level: "… sshd[24200]: error: Received disconnect …"
    ("syslog_program", re.compile(
        r"[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \S+ [\w./()-]+(?:\[\d+\])?: "
        r"(?P<level>error|fatal|warning|crit|critical):")),
    # GitHub Actions: "##[error]…", "::warning file=…::…", with or without the runner's timestamp
    ("github_actions", re.compile(r"(?:\S+ )?(?:##\[(?P<level>error|warning)\]|::(?P<level2>error|warning)[ :])")),
    # Celery: [2026-03-10 09:12:01,338: ERROR/MainProcess] …
    ("celery", re.compile(r"\[" + _ISO + r": (?P<level>ERROR|WARNING|CRITICAL|FATAL)/")),
    # ASP.NET Core's console logger: fail: Category[0] (the message on the indented lines below)
    ("aspnet", re.compile(r"(?P<level>fail|crit|warn): [\w.]+\[\d+\]$")),
    # A timestamp, up to three tokens, then the level: log4j, logback, HDFS, Spark, OpenStack,
    # ZooKeeper, PostgreSQL, MySQL ([Warning]), nginx ([error]), Go's log and slog, zap, Python,
    # gunicorn; after a log file's name (OpenStack) or a compose service's "web-1  | ".
    ("timestamped", re.compile(
        r"(?:\S+\.log(?:\.\S+)? |[\w.-]+ +\| )?" + _STAMP + r",?\s+(?:[-|]\s+)?(?:" + _TOKEN + r"\s+(?:[-|]\s+)?){0,3}?"
        r"(?:(?P<level>" + _UPPER + r")|[\[<](?P<level2>(?i:error|err|fatal|critical|crit|panic|severe"
        r"|emerg|alert|warning|warn)) *[\]>])(?=[\s:|\]]|$)")),
    # No timestamp: a level first (ERROR:root:…, WARNING: …, SEVERE: …, [ERROR] …), at most two
    # bracketed tags before it ([app] [worker-1] ERROR …), none of them a checkbox.
    ("leading", re.compile(
        r"(?:\[(?![ xX]?\])(?!\s*(?i:" + _ANY_LEVEL + r")\b)[^\]]{1,60}\]\s*){0,2}"
        r"[\[<]?(?P<level>" + _UPPER + r")[\]>]?(?=[\s:|\]]|$)")),
]  # fmt: skip


# The commonest shapes first: no two formats match the same line.
FORMATS.sort(key=lambda f: f[0] not in ("timestamped", "leading"))
# The formats whose level is a letter or sign; the others spell it as a word.
_LETTER_FORMATS = [(name, pattern) for name, pattern in FORMATS if name in ("logcat", "redis")]
# Substring tests on the lowercased line: far faster than a caseless regex alternation.
_LEVEL_WORDS = ("err", "warn", "fatal", "crit", "fail", "severe", "panic", "emerg", "alert")


def match_level(line: str) -> tuple[str, str] | None:
    """(format, level) of a line whose level column says error or warning, else None."""
    low = line.lower()
    for word in _LEVEL_WORDS:
        if word in low:
            formats = FORMATS
            break
    else:
        if not (line[:1].isdigit() or line[1:2] == "/"):
            return None
        formats = _LETTER_FORMATS
    for name, pattern in formats:
        m = pattern.match(line)
        if m is not None:
            # Each format's only named groups are its level's spellings.
            return name, m.group(m.lastgroup)
    return None


_PRI_RE = re.compile(r"<(?P<pri>\d{1,3})>")
_JOURNAL_PRIORITY_RE = re.compile(r'"PRIORITY"\s*:\s*"?(?P<pri>[0-7])\b')


def syslog_severity(line: str) -> str | None:
    """The level of a syslog line with its PRI (<11>1 2026-… or <27>Mar 10 …) or of a
    journal entry in JSON ("PRIORITY":"3"), when it is a warning or worse."""
    m = _PRI_RE.match(line)
    if m is not None:
        pri = int(m.group("pri"))
        return SYSLOG_SEVERITIES.get(pri % 8) if pri < 192 else None
    if line.startswith("{"):
        m = _JOURNAL_PRIORITY_RE.search(line)
        if m is not None:
            return SYSLOG_SEVERITIES.get(int(m.group("pri")))
    return None


class LevelColumn:
    """The `pattern` of the log_error rule: `match(line)` gives (format, level) or None."""

    def match(self, line: str) -> tuple[str, str] | None:
        if line[:1] in ("<", "{"):
            severity = syslog_severity(line)
            if severity is not None:
                return "syslog", severity
        return match_level(line)

    search = match


LEVEL_COLUMN = LevelColumn()


def build_level(found: tuple[str, str], line: str) -> dict:
    fmt, level = found
    event_type, severity = LEVELS[level.lower()]
    meta = {"level": "WARNING" if level == "#" else level.upper(), "_type": event_type,
            "_severity": severity}  # fmt: skip
    if fmt == "aspnet":  # its message is on the indented lines under the level line
        meta["_state"] = {"indented": True}
    return meta


def build_pytest_section(m: re.Match, line: str) -> dict:
    return {"_state": {"section": m.group("section"), "silent": True}}


def build_pytest_failed(m: re.Match, line: str) -> dict:
    meta = {k: v for k, v in m.groupdict().items() if v is not None}
    # `FAILED file.py::Class::test` repeats the FAILURES entry headed `Class.test`, and
    # `ERROR file.py::test` the ERRORS entry `ERROR at setup of test`.
    test = meta.pop("test2", None) or meta["test"]
    meta["test"] = test
    meta["_seen"] = pytest_key(test.split("::", 1)[1].replace("::", ".") if "::" in test else test)
    return meta


_PYTEST_HEADER_PREFIX_RE = re.compile(r"ERROR (?:at (?:setup|teardown) of|collecting) ")


def pytest_key(test: str) -> str:
    """What a FAILURES/ERRORS header and a short-summary line say alike about one test."""
    return "pytest:" + _PYTEST_HEADER_PREFIX_RE.sub("", test, count=1)


def build_unittest_failure(m: re.Match, line: str) -> dict:
    return {"test": m.group("test"), "outcome": m.group("kind")}


def build_tool_error(m: re.Match, line: str) -> dict:
    meta = {k: v for k, v in m.groupdict().items() if v is not None}
    for key in ("line", "col", "port"):
        if key in meta and meta[key].isdigit():
            meta[key] = int(meta[key])
    if meta.pop("warn", None) is not None:
        meta["_type"], meta["_severity"] = "warning", "warning"
    return meta


def build_node_report(m: re.Match, line: str) -> dict:
    # Named like the other JavaScript errors: the report is one uncaught exception.
    return {"file": m.group("file"), "line": int(m.group("line")), "_rule": "js_error"}


def build_unittest_result(m: re.Match, line: str) -> dict:
    """unittest's closing `FAILED (failures=1, errors=1)` or `OK (skipped=2)`."""
    counts = {k: int(v) for k, v in (p.split("=") for p in m.group("counts").split(", "))}
    failed = counts.get("failures", 0) + counts.get("errors", 0)
    return {"name": "failed_tests", "value": failed, "unit": "tests", "status": m.group("status"),
            **counts}  # fmt: skip


def build_cargo_result(m: re.Match, line: str) -> dict:
    passed, failed = int(m.group("passed")), int(m.group("failed"))
    return {"name": "tests", "value": passed, "unit": "tests", "passed": passed, "failed": failed,
            "ignored": int(m.group("ignored")), "duration_s": float(m.group("dur"))}  # fmt: skip


def build_duration(m: re.Match, line: str) -> dict:
    value, unit = float(m.group("value")), m.group("unit")
    meta = {"name": m.group("name") if "name" in m.re.groupindex else "duration",
            "value": value, "unit": unit}  # fmt: skip
    if unit == "ms":
        meta["duration_s"] = value / 1000
    elif unit == "s":
        meta["duration_s"] = value
    for key in ("added", "removed", "changed", "audited"):
        found = re.search(rf"{key} (\d+) packages?", line)
        if found:
            meta[key] = int(found.group(1))
    return meta


# `name=number` anywhere in a line: a measurement (retries=3, elapsed=1.2s, errors=0). Not a
# flag (--jobs=4), a query parameter (?page=2), an environment variable (CUDA_VISIBLE_DEVICES=0),
# a call's keyword argument (f(a=1, b=2)) nor a number that is part of an address, version,
# time or path.
FIELD_RE = re.compile(
    r"(?<![\w.?&/$(-])(?P<name>[A-Za-z_][\w.]{0,40})=(?P<value>[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?)"
    r"(?P<unit>%|ms|us|µs|ns|s|m|h|[KMGT]i?B|B|/s)?(?![\w.:/)-]|,\d)"
)
# Names whose numbers identify or locate rather than measure.
_NOT_MEASURES = re.compile(
    r"(?i)(?:.*id|port|line|lineno|col|column|version|ver|v|rev|revision|page|seq|code|status|exit|"
    r"exitcode|exit_code|signal|errno|index|idx|offset|year|month|day|date|time|ts|timestamp|pri|"
    r"priority|level|lvl|pid|tid|uid|gid|host|addr|ip|tty|fd|user|owner|group|node|worker|shard|partition|"
    r"thread|job|task|pr|issue|ref|x|y|z|i|j|k|n)$"
)
_FIELD_GATE_RE = re.compile(r"[A-Za-z_]=[-+.]?\d")


def field_gate(line: str) -> bool:
    return "=" in line and _FIELD_GATE_RE.search(line) is not None


def build_field(m: re.Match, line: str) -> dict | None:
    name = m.group("name")
    if _NOT_MEASURES.match(name) or (name.isupper() and len(name) > 1):
        return None
    try:
        value = float(m.group("value"))
    except ValueError:
        return None
    return {"name": name.lower(), "value": value, "unit": m.group("unit") or ""}
