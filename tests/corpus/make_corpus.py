"""Write the generated part of the accuracy corpus: log lines in documented public formats.

    .venv/bin/python tests/corpus/make_corpus.py

Every line is labelled as it is written (the label comes from how the line was made, never
from the extractor): an event of a type, a "negative" (a line that looks alarming but is no
event), or nothing. Each format has variants; the files under `generated/` use a seed and the
common variants, those under `heldout/` another seed and the formats' other variants, so that
the rules are judged on shapes they were not tuned on. See README.md for the label format.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent

# A record is the lines of one thing in the log and its label (None: an ordinary line).
Record = tuple[list[str], str | None]

ERRORS = [
    "connection refused by upstream 10.0.{a}.{b}:5432",
    "failed to open /var/lib/app/data-{n}.db: permission denied",
    "request {hex} timed out after {n}ms",
    "disk quota exceeded on /dev/sdb{a}",
    "could not parse configuration file: unexpected token at line {n}",
    "worker {n} exited unexpectedly with code 137",
    "unable to allocate {n} bytes",
    "TLS handshake with peer 172.16.{a}.{b} failed: certificate expired",
    "lost connection to replica db-{a} during sync",
    "checksum mismatch for block blk_{big}",
    "cannot bind to port {port}: address already in use",
    "NullPointerException while handling request {hex}",
]
WARNINGS = [
    "slow query took {n}ms: SELECT * FROM orders WHERE id = ?",
    "retrying request {hex} (attempt {a} of 5)",
    "disk usage at {pct}% on /var",
    "deprecated option 'max_conn' used; use 'max_connections'",
    "connection pool nearly exhausted: {a} of 64 free",
    "certificate for api.example.org expires in {a} days",
    "heartbeat from node-{a} late by {n}ms",
    "falling back to default locale en_US",
    "queue depth {n} above soft limit",
    "clock skew of {n}ms detected against ntp",
]
INFOS = [
    "started worker {a} (pid {n})",
    "listening on 0.0.0.0:{port}",
    "accepted connection from 10.1.{a}.{b}",
    "flushed {n} records to segment {a}",
    "cache warmed with {n} entries",
    "user session {hex} refreshed",
    "scheduled job cleanup-{a} for 02:00",
    "loaded {n} routes",
    "health check ok",
    "opened database at /var/lib/app/main.db",
    "received block blk_{big} of size {n} from /10.250.{a}.{b}",
]
# Lines that mention errors, failures or warnings but report no event: the hard negatives.
ALARMING_INFOS = [
    "warm-up finished, errors=0 after warm-up",
    "0 failed, {n} succeeded",
    "no warnings during startup",
    "error handling improved in this release",
    "retry policy: exponential backoff, no error budget",
    "caught and ignored a harmless ValueError while probing optional module",
    "exception handler registered for /api/v{a}",
    "validation passed with no errors",
    "previous error cleared; service healthy",
    "instruction cache parity error corrected",
    "error budget remaining {pct}%",
    "warning threshold set to {pct}%",
    "failover test completed successfully",
    "fatal-signal handler installed",
    "errors: none",
]


def fill(template: str, rng: random.Random) -> str:
    return template.format(
        a=rng.randint(1, 9),
        b=rng.randint(1, 254),
        n=rng.randint(10, 9999),
        pct=rng.randint(70, 99),
        port=rng.choice((80, 443, 5432, 6379, 8080, 9092)),
        hex=f"{rng.getrandbits(48):012x}",
        big=rng.randint(10**17, 10**18),
    )


KEY_NUMBER_RE = re.compile(r"\b[a-z_]+=\d")


def label_of(kind: str, msg: str) -> str | None:
    """The label of a message of this kind at the level its kind calls for."""
    if kind == "negative":
        # A measurement such as errors=0 is a metric, whatever its name says.
        return "metric" if KEY_NUMBER_RE.search(msg) else "negative"
    return kind if kind in ("error", "warning") else None


class Clock:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = datetime(2026, 3, 10, 9, 12, 1) + timedelta(days=rng.randint(0, 200))

    def tick(self) -> datetime:
        self.now += timedelta(milliseconds=self.rng.randint(1, 4000))
        return self.now

    def ticks(self, n: int) -> Iterator[datetime]:
        """The times of n lines, one after the other."""
        for _ in range(n):
            yield self.tick()


def pick_kind(rng: random.Random) -> str:
    """What the next line of a log reports: mostly ordinary lines, some events."""
    r = rng.random()
    if r < 0.12:
        return "error"
    if r < 0.24:
        return "warning"
    if r < 0.36:
        return "negative"
    return "info"


def message(kind: str, rng: random.Random) -> str:
    pool = {"error": ERRORS, "warning": WARNINGS, "negative": ALARMING_INFOS}.get(kind, INFOS)
    return fill(rng.choice(pool), rng)


def leveled(
    rng: random.Random,
    n: int,
    line: Callable[[str, str, datetime], str],
    levels: dict[str, list[str]],
) -> list[Record]:
    """n records of a format whose level is a column: `line(level, message, time)`.

    `levels` maps error/warning/info/debug to the format's spellings of them; a negative is
    an alarming message at an info or debug level.
    """
    records: list[Record] = []
    clock = Clock(rng)
    for _ in range(n):
        kind = pick_kind(rng)
        if kind in ("error", "warning"):
            level = rng.choice(levels[kind])
            label = kind
        else:
            level = rng.choice(levels["info"] + levels.get("debug", []))
            msg = message(kind, rng)
            label = label_of(kind, msg)
            records.append(([line(level, msg, clock.tick())], label))
            continue
        records.append(([line(level, message(kind, rng), clock.tick())], label))
    return records


# Level spellings that several formats share (leveled's `levels`).
PLAIN_LEVELS = {"error": ["ERROR"], "warning": ["WARN"], "info": ["INFO"], "debug": ["DEBUG"]}
LOG4J_LEVELS = {
    "error": ["ERROR", "FATAL"],
    "warning": ["WARN"],
    "info": ["INFO"],
    "debug": ["DEBUG"],
}


# --- formats --------------------------------------------------------------------------------


def apache_error(rng, n, variant):
    if variant == 0:  # Apache 2.2

        def line(level, msg, t):
            client = (
                f" [client 10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}]"
                if rng.random() < 0.6
                else ""
            )
            return f"[{t:%a %b %d %H:%M:%S %Y}] [{level}]{client} {msg}"

        levels = {
            "error": ["error", "crit", "alert", "emerg"],
            "warning": ["warn"],
            "info": ["notice", "info"],
            "debug": ["debug"],
        }
    else:  # Apache 2.4: [module:level] [pid N:tid M]

        def line(level, msg, t):
            mod = rng.choice(("core", "proxy", "ssl", "mpm_event", "authz_core"))
            return (
                f"[{t:%a %b %d %H:%M:%S}.{rng.randint(0, 999999):06d} {t:%Y}] [{mod}:{level}] "
                f"[pid {rng.randint(100, 9999)}:tid {rng.randint(10**9, 10**10)}] "
                f"[client 10.0.0.{rng.randint(1, 254)}:{rng.randint(1024, 65535)}] AH0{rng.randint(1000, 2999)}: {msg}"
            )

        levels = {
            "error": ["error", "crit", "emerg"],
            "warning": ["warn"],
            "info": ["notice", "info"],
            "debug": ["debug", "trace1"],
        }
    return leveled(rng, n, line, levels)


def logcat(rng, n, variant):
    tags = [
        "AudioFlinger",
        "ActivityManager",
        "PackageManager",
        "WifiService",
        "chromium",
        "SurfaceFlinger",
        "art",
    ]
    if variant == 0:  # threadtime

        def line(level, msg, t):
            return (
                f"{t:%m-%d %H:%M:%S}.{rng.randint(0, 999):03d} {rng.randint(100, 9999):5d} "
                f"{rng.randint(100, 9999):5d} {level} {rng.choice(tags)}: {msg}"
            )
    else:  # brief

        def line(level, msg, t):
            return f"{level}/{rng.choice(tags)}({rng.randint(100, 9999):5d}): {msg}"

    levels = {"error": ["E", "F"], "warning": ["W"], "info": ["I"], "debug": ["D", "V"]}
    return leveled(rng, n, line, levels)


JAVA_CLASSES = [
    "com.example.orders.OrderService",
    "org.apache.kafka.clients.NetworkClient",
    "org.springframework.web.servlet.DispatcherServlet",
    "io.netty.channel.DefaultChannelPipeline",
]


def java_trace(rng) -> list[str]:
    exc = rng.choice(
        [
            "java.lang.IllegalStateException",
            "java.io.IOException",
            "java.net.ConnectException",
            "java.lang.NullPointerException",
        ]
    )
    lines = [f"{exc}: {fill(rng.choice(ERRORS), rng)}"]
    for _ in range(rng.randint(2, 5)):
        cls = rng.choice(JAVA_CLASSES)
        lines.append(
            f"\tat {cls}.{rng.choice(['run', 'handle', 'process', 'send'])}({cls.rsplit('.', 1)[1]}.java:{rng.randint(10, 900)})"
        )
    if rng.random() < 0.4:
        lines.append("Caused by: java.net.SocketTimeoutException: connect timed out")
        lines.append(
            f"\tat java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:{rng.randint(100, 600)})"
        )
        lines.append(f"\t... {rng.randint(3, 40)} more")
    return lines


def log4j(rng, n, variant):
    def line(level, msg, t):
        logger = rng.choice(JAVA_CLASSES)
        if variant == 0:  # log4j PatternLayout "%d %-5p [%t] %c - %m%n"
            return f"{t:%Y-%m-%d %H:%M:%S},{rng.randint(0, 999):03d} {level:<5} [{rng.choice(['main', 'pool-1-thread-3', 'http-nio-8080-exec-7'])}] {logger} - {msg}"
        # logback default "%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n"
        short = ".".join(p[0] for p in logger.split(".")[:-1]) + "." + logger.rsplit(".", 1)[1]
        return f"{t:%H:%M:%S}.{rng.randint(0, 999):03d} [{rng.choice(['main', 'worker-2'])}] {level:<5} {short} - {msg}"

    records = leveled(
        rng,
        n,
        line,
        {
            "error": ["ERROR", "FATAL"],
            "warning": ["WARN"],
            "info": ["INFO"],
            "debug": ["DEBUG", "TRACE"],
        },
    )
    # Some errors carry their stack trace: one event from the log line to the last frame.
    for lines, label in records:
        if label == "error" and rng.random() < 0.3:
            lines.extend(java_trace(rng))
    return records


def hadoop(rng, n, variant):
    loggers = [
        "org.apache.hadoop.ipc.Server",
        "dfs.DataNode$PacketResponder",
        "dfs.FSNamesystem",
        "org.apache.hadoop.hdfs.server.datanode.DataNode",
        "org.apache.hadoop.mapreduce.v2.app.MRAppMaster",
    ]

    def line(level, msg, t):
        if variant == 0:  # HDFS (yyMMdd HHmmss pid LEVEL class: msg)
            return f"{t:%y%m%d %H%M%S} {rng.randint(1, 9999)} {level} {rng.choice(loggers)}: {msg}"
        # Hadoop/Spark log4j: "yy/MM/dd HH:mm:ss LEVEL class: msg" or "... ,SSS LEVEL [thread] class: msg"
        if rng.random() < 0.5:
            return f"{t:%y/%m/%d %H:%M:%S} {level} {rng.choice(['TaskSetManager', 'BlockManager', 'Executor'])}: {msg}"
        return f"{t:%Y-%m-%d %H:%M:%S},{rng.randint(0, 999):03d} {level} [main] {rng.choice(loggers)}: {msg}"

    return leveled(rng, n, line, LOG4J_LEVELS)


def openstack(rng, n, variant):
    mods = [
        "nova.compute.manager",
        "nova.osapi_compute.wsgi.server",
        "neutron.agent.l3.agent",
        "cinder.volume.manager",
    ]

    def line(level, msg, t):
        req = f"[req-{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x} - - - - -]"
        body = f"{t:%Y-%m-%d %H:%M:%S}.{rng.randint(0, 999):03d} {rng.randint(1000, 30000)} {level} {rng.choice(mods)} {req} {msg}"
        if variant == 1:  # LogHub's OpenStack files: the log file's name first
            body = f"nova-compute.log.1.2017-05-16_13:55:31 {body}"
        return body

    return leveled(
        rng,
        n,
        line,
        {
            "error": ["ERROR", "CRITICAL"],
            "warning": ["WARNING"],
            "info": ["INFO"],
            "debug": ["DEBUG"],
        },
    )


def syslog(rng, n, variant):
    hosts = ["web-1", "db-2", "combo", "edge01"]
    procs = ["nginx", "postgres", "kernel", "app", "cron", "dockerd"]

    def line(level, msg, t):
        sev = int(level)
        pri = 8 * rng.choice((1, 3, 16)) + sev
        if variant == 0:  # RFC 5424
            return f"<{pri}>1 {t:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999):03d}Z {rng.choice(hosts)} {rng.choice(procs)} {rng.randint(100, 9999)} - - {msg}"
        # RFC 3164 with its PRI
        return f"<{pri}>{t:%b %d %H:%M:%S} {rng.choice(hosts)} {rng.choice(procs)}[{rng.randint(100, 9999)}]: {msg}"

    return leveled(
        rng,
        n,
        line,
        {"error": ["0", "1", "2", "3"], "warning": ["4"], "info": ["5", "6"], "debug": ["7"]},
    )


def journald(rng, n, variant):
    if variant == 0:  # journalctl -o json

        def line(level, msg, t):
            return json.dumps(
                {
                    "__REALTIME_TIMESTAMP": str(int(t.timestamp() * 1e6)),
                    "PRIORITY": level,
                    "_HOSTNAME": "web-1",
                    "SYSLOG_IDENTIFIER": rng.choice(["app", "sshd", "containerd"]),
                    "_PID": str(rng.randint(100, 9999)),
                    "MESSAGE": msg,
                }
            )
    else:  # dmesg -x

        def line(level, msg, t):
            name = {
                "0": "emerg",
                "1": "alert",
                "2": "crit",
                "3": "err",
                "4": "warn",
                "5": "notice",
                "6": "info",
                "7": "debug",
            }[level]
            return (
                f"kern  :{name:<6}: [{rng.randint(1, 99999):6d}.{rng.randint(0, 999999):06d}] {msg}"
            )

    return leveled(
        rng,
        n,
        line,
        {"error": ["0", "2", "3"], "warning": ["4"], "info": ["5", "6"], "debug": ["7"]},
    )


def go_log(rng, n, variant):
    def line(level, msg, t):
        if variant == 0:
            r = rng.random()
            if r < 0.4:  # slog's default handler through package log
                return f"{t:%Y/%m/%d %H:%M:%S} {level} {msg} addr=10.0.0.{rng.randint(1, 254)}"
            if r < 0.7:  # log.Printf("WARN: …")
                return f"{t:%Y/%m/%d %H:%M:%S} {level}: {msg}"
            # slog TextHandler
            return (
                f'time={t:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999):03d}Z level={level} msg="{msg}"'
            )
        # logrus text and zap console
        if rng.random() < 0.5:
            return f'time="{t:%Y-%m-%dT%H:%M:%S}Z" level={level.lower()} msg="{msg}" component=api'
        return f'{t:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999):03d}Z\t{level}\tserver/handler.go:{rng.randint(10, 300)}\t{msg}\t{{"peer": "10.0.0.{rng.randint(1, 9)}"}}'

    return leveled(rng, n, line, PLAIN_LEVELS)


def systemd(rng, n, variant):
    units = [
        "nginx.service",
        "postgresql.service",
        "docker.service",
        "backup.timer",
        "app-worker@3.service",
    ]
    records: list[Record] = []
    for t in Clock(rng).ticks(n):
        head = f"{t:%b %d %H:%M:%S} web-1 systemd[1]: "
        unit = rng.choice(units)
        r = rng.random()
        if r < 0.12:
            records.append(
                ([head + f"Failed to start {unit} - {unit.split('.')[0].title()} daemon."], "error")
            )
        elif r < 0.2:
            records.append(([head + f"{unit}: Failed with result 'exit-code'."], "warning"))
        elif r < 0.3:
            records.append(
                (
                    [
                        head
                        + rng.choice(
                            [
                                f"Started {unit} - Error reporting daemon.",
                                f"{unit}: Deactivated successfully.",
                                "Reached target graphical.target - Graphical Interface (no errors).",
                                f"Starting {unit} - Failure notifier...",
                            ]
                        )
                    ],
                    "negative",
                )
            )
        else:
            records.append(
                (
                    [
                        head
                        + rng.choice(
                            [
                                f"Started {unit}.",
                                f"Stopping {unit}...",
                                f"Reloading {unit}.",
                                f"{unit}: Consumed {rng.randint(1, 90)}.{rng.randint(0, 999)}s CPU time.",
                            ]
                        )
                    ],
                    None,
                )
            )
    return records


def bgl(rng, n, variant):
    nodes = ["R02-M1-N0-C:J12-U11", "R30-M0-N9-C:J16-U01", "R63-M1-NF-I:J18-U11"]
    comps = ["KERNEL", "APP", "MMCS", "LINKCARD", "DISCOVERY", "HARDWARE"]

    def line(level, msg, t):
        node = rng.choice(nodes)
        alert = (
            "-"
            if level in ("INFO", "WARNING") or rng.random() < 0.5
            else rng.choice(["KERNDTLB", "APPREAD", "KERNSTOR"])
        )
        return (
            f"{alert} {int(t.timestamp())} {t:%Y.%m.%d} {node} {t:%Y-%m-%d-%H.%M.%S}.{rng.randint(0, 999999):06d} "
            f"{node} RAS {rng.choice(comps)} {level} {msg}"
        )

    return leveled(
        rng,
        n,
        line,
        {
            "error": ["FATAL", "SEVERE", "FAILURE", "ERROR"],
            "warning": ["WARNING"],
            "info": ["INFO"],
        },
    )


def nginx(rng, n, variant):
    records: list[Record] = []
    for t in Clock(rng).ticks(n):
        if (
            rng.random() < 0.5
        ):  # access log lines, alarming paths or statuses included, are no events
            path = rng.choice(
                [
                    "/api/errors",
                    "/static/app.js",
                    "/warnings/list",
                    "/health",
                    "/failed-jobs?page=2",
                ]
            )
            status = rng.choice((200, 200, 304, 404, 500, 502))
            label = (
                "negative"
                if "error" in path or "warn" in path or "fail" in path or status >= 500
                else None
            )
            records.append(
                (
                    [
                        f'10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET {path} HTTP/1.1" {status} {rng.randint(0, 99999)} "-" "curl/8.5.0"'
                    ],
                    label,
                )
            )
            continue
        kind = pick_kind(rng)
        level = {"error": rng.choice(["error", "crit", "alert", "emerg"]), "warning": "warn"}.get(
            kind, rng.choice(["notice", "info"])
        )
        msg = message(kind, rng)
        label = label_of(kind, msg)
        records.append(
            (
                [
                    f"{t:%Y/%m/%d %H:%M:%S} [{level}] {rng.randint(1, 9999)}#{rng.randint(0, 9)}: *{rng.randint(1, 99999)} {msg}"
                    + (", client: 10.0.0.5, server: example.org" if rng.random() < 0.5 else "")
                ],
                label,
            )
        )
    return records


def postgres(rng, n, variant):
    def line(level, msg, t):
        return f"{t:%Y-%m-%d %H:%M:%S}.{rng.randint(0, 999):03d} UTC [{rng.randint(100, 99999)}] {level}:  {msg}"

    records = leveled(
        rng,
        n,
        line,
        {
            "error": ["ERROR", "FATAL", "PANIC"],
            "warning": ["WARNING"],
            "info": ["LOG", "INFO"],
            "debug": ["DEBUG1"],
        },
    )
    for lines, label in records:  # an error's STATEMENT/DETAIL lines belong to it
        if label == "error" and rng.random() < 0.5:
            lines.append(
                lines[0].split("] ")[0] + "] STATEMENT:  SELECT * FROM orders WHERE id = 42"
            )
    return records


def redis(rng, n, variant):
    def line(level, msg, t):
        return f"{rng.randint(1, 99999)}:{rng.choice('MSC')} {t:%d %b %Y %H:%M:%S}.{rng.randint(0, 999):03d} {level} {msg}"

    # Redis has no error level: "#" is its warning, whatever the message says.
    records = leveled(
        rng, n, line, {"error": ["#"], "warning": ["#"], "info": ["*", "-"], "debug": ["."]}
    )
    return [(lines, "warning" if label == "error" else label) for lines, label in records]


def aspnet(rng, n, variant):
    records: list[Record] = []
    for _ in range(n):
        kind = pick_kind(rng)
        level = {"error": rng.choice(["fail", "crit"]), "warning": "warn"}.get(
            kind, rng.choice(["info", "dbug"])
        )
        msg = message(kind, rng)
        label = label_of(kind, msg)
        cat = rng.choice(
            [
                "Microsoft.AspNetCore.Server.Kestrel[13]",
                "Microsoft.EntityFrameworkCore.Database.Command[20102]",
                "App.Worker[0]",
            ]
        )
        records.append(([f"{level}: {cat}", f"      {msg}"], label))
    return records


def jul(rng, n, variant):
    """java.util.logging's SimpleFormatter: a date line, then LEVEL: message."""
    records: list[Record] = []
    for t in Clock(rng).ticks(n):
        kind = pick_kind(rng)
        level = {"error": "SEVERE", "warning": "WARNING"}.get(
            kind, rng.choice(["INFO", "FINE", "CONFIG"])
        )
        msg = message(kind, rng)
        label = label_of(kind, msg)
        head = f"{t:%b %d, %Y} {t.hour % 12 or 12}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'} org.eclipse.jetty.server.Server doStart"
        records.append(([head], None))
        records.append(([f"{level}: {msg}"], label))
    return records


def key_value_metrics(rng, n, variant):
    """Application logs whose lines carry measurements as key=value (one metric event a line)."""
    records: list[Record] = []
    for t in Clock(rng).ticks(n):
        ts = f"{t:%Y-%m-%d %H:%M:%S},{rng.randint(0, 999):03d}"
        r = rng.random()
        if r < 0.3:
            body = rng.choice(
                [
                    f"upload done, retries={rng.randint(0, 5)} bytes={rng.randint(1000, 10**7)} elapsed={rng.random() * 9:.2f}s",
                    f"batch committed rows={rng.randint(1, 5000)} duration_ms={rng.randint(1, 900)}",
                    f"gc pause={rng.randint(1, 300)}ms heap_used={rng.randint(100, 4000)}MB",
                    f"epoch={rng.randint(1, 50)} loss={rng.random():.4f} accuracy={rng.random():.3f}",
                    f"request served status=200 latency={rng.randint(1, 900)}ms size={rng.randint(100, 99999)}",
                    f"cache stats hits={rng.randint(0, 99999)} misses={rng.randint(0, 999)} hit_ratio={rng.random():.2f}",
                    f"warm-up done errors=0 retries={rng.randint(0, 3)}",
                ]
            )
            records.append(([f"{ts} INFO app.stats: {body}"], "metric"))
        elif r < 0.45:
            records.append(
                (
                    [
                        f"{ts} INFO app.http: request id={rng.randint(1, 99999)} user=bob path=/api/v{rng.randint(1, 3)}/items"
                    ],
                    "negative",
                )
            )
        else:
            records.append(
                ([f"{ts} {rng.choice(['INFO', 'DEBUG'])} app.core: {message('info', rng)}"], None)
            )
    return records


def aider(rng, n, variant):
    """aider's Markdown-quoted notices among its chat output."""
    records: list[Record] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.15:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "> Warning: it's best to only add files that need changes to the chat.",
                                "> Warning: gpt-4o-mini expects these environment variables",
                                "> Warning for openrouter/x: Unknown context window size and costs, using sane defaults.",
                                f"> Warning: {rng.choice(['repo-map', 'the repo'])} can't include {rng.randint(1, 90)} files",
                            ]
                        )
                    ],
                    "warning",
                )
            )
        elif r < 0.3:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "> Added src/errors.py to the chat.",
                                "> Applied edit to tests/test_warnings.py",
                                "> Commit 3fa1b2c fix: error handling when the cache is empty",
                            ]
                        )
                    ],
                    "negative",
                )
            )
        elif r < 0.35:  # aider's cost report: a measurement
            records.append(
                (
                    [
                        f"> Tokens: {rng.randint(1, 9)}.{rng.randint(0, 9)}k sent, {rng.randint(100, 999)} received. "
                        f"Cost: ${rng.random() / 100:.4f} message, ${rng.random() / 10:.2f} session."
                    ],
                    "metric",
                )
            )
        else:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "I'll update the retry loop so a failed upload is logged once.",
                                "The warning comes from the old config loader; let me remove it.",
                                "Here is the change to handle the error case:",
                                "Let me know if you want tests for this.",
                            ]
                        )
                    ],
                    None,
                )
            )
    return records


def ssh_git(rng, n, variant):
    """ssh and git over ssh: the publickey denial and its consequences, among ordinary output."""
    records: list[Record] = []
    for _ in range(n):
        host = rng.choice(["github.com", "gitlab.example.org", "10.0.0.7", "build-3"])
        r = rng.random()
        if r < 0.15:
            user = rng.choice(["git", "deploy", "root", "ci"])
            records.append(([f"{user}@{host}: Permission denied (publickey)."], "error"))
            if rng.random() < 0.5:
                records.append((["fatal: Could not read from remote repository."], "error"))
                records.append(
                    (
                        [
                            "",
                            "Please make sure you have the correct access rights",
                            "and the repository exists.",
                        ],
                        None,
                    )
                )
        elif r < 0.2:
            records.append(([f"ssh: connect to host {host} port 22: Connection refused"], "error"))
        elif r < 0.3:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                f"Warning: Permanently added '{host}' (ED25519) to the list of known hosts.",
                            ]
                        )
                    ],
                    "warning",
                )
            )
        elif r < 0.4:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "debug1: Authentications that can continue: publickey,password",
                                "debug1: No more authentication methods to try.",
                                "Hi deploy! You've successfully authenticated, but GitHub does not provide shell access.",
                                "remote: Counting objects: 100% (12/12), done.",
                                "debug1: Next authentication method: publickey",
                            ]
                        )
                    ],
                    "negative",
                )
            )
        else:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                f"Cloning into 'repo-{rng.randint(1, 99)}'...",
                                f"Receiving objects: 100% ({rng.randint(10, 900)}/{rng.randint(900, 999)}), 1.{rng.randint(0, 9)} MiB | 3.2 MiB/s, done.",
                                "Resolving deltas: 100% (40/40), done.",
                                f"To {host}:team/app.git",
                                "   3fa1b2c..9d0e4f1  main -> main",
                            ]
                        )
                    ],
                    None,
                )
            )
    return records


def agent_chat(rng, n, variant):
    """A coding agent's chat: prose, Markdown code blocks (one event each) and questions."""
    records: list[Record] = []
    fence = "~~~" if variant else "```"
    for _ in range(n):
        r = rng.random()
        if r < 0.12:
            lang = rng.choice(["python", "bash", "js", "", "diff", "rust"])
            body = rng.choice(
                [
                    [
                        "def load(path):",
                        "    try:",
                        "        return parse(path)",
                        "    except ValueError as exc:",
                        "        raise ConfigError(f'Error: bad config {path}') from exc",
                    ],
                    ["pytest -q tests/test_api.py", "echo 'warning: this is only an example'"],
                    ["-    retries = 3", "+    retries = 5  # fewer failed uploads"],
                    ["fn main() {", '    panic!("fatal: unreachable");', "}"],
                    ["console.error('Error: not found');"],
                ]
            )
            records.append(([f"{fence}{lang}", *body, fence], "code_block"))
        elif r < 0.2:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "Do you want me to run the migrations now? [Y/n]",
                                "Apply these changes to src/app.py? (y/n)",
                                "Overwrite tests/conftest.py? [y/N]",
                                "Allow command `rm -rf build/`? (yes/no)",
                                "Proceed with the deployment to production? [y/N]",
                                "[sudo] password for deploy:",
                            ]
                        )
                    ],
                    "prompt",
                )
            )
        elif r < 0.35:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "The error handling is now covered by tests; no warnings remain.",
                                "I fixed the failing test: it expected 3 errors but the parser now reports 2.",
                                "All 42 tests passed, 0 failed.",
                                "Next I will look at why the warning appears in CI logs.",
                                "The exception is caught in `handle()` and logged at DEBUG level.",
                            ]
                        )
                    ],
                    "negative",
                )
            )
        else:
            records.append(
                (
                    [
                        rng.choice(
                            [
                                "Let me read the configuration loader first.",
                                "I'll add a test for the empty-file case.",
                                "Here is the updated function:",
                                "That change is done. Shall I continue with the docs?",
                                "",
                            ]
                        )
                    ],
                    None,
                )
            )
    return records


GLOG_FILES = ["server.go", "kubelet.go", "reflector.go", "controller.cc", "raft.cc"]

# Formats of one line a record, its level a column: the level's spellings (leveled's `levels`)
# and the line from the random source, the level, the message and the time.
ONE_LINE_FORMATS: dict[str, tuple[dict[str, list[str]], Callable]] = {
    "glog": ({"error": ["E", "F"], "warning": ["W"], "info": ["I"]}, lambda rng, level, msg, t: f"{level}{t:%m%d %H:%M:%S}.{rng.randint(0, 999999):06d} {rng.randint(1, 99999):7d} {rng.choice(GLOG_FILES)}:{rng.randint(10, 999)}] {msg}"),
    "mysql": ({"error": ["ERROR"], "warning": ["Warning"], "info": ["Note", "System"]}, lambda rng, level, msg, t: f"{t:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999999):06d}Z {rng.randint(0, 99)} [{level}] [MY-0{rng.randint(10000, 13999)}] [Server] {msg}"),
    "zookeeper": (PLAIN_LEVELS, lambda rng, level, msg, t: f"{t:%Y-%m-%d %H:%M:%S},{rng.randint(0, 999):03d} - {level:<5} [QuorumPeer[myid={rng.randint(1, 3)}]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@{rng.randint(100, 999)}] - {msg}"),
    "ruby_logger": (LOG4J_LEVELS, lambda rng, level, msg, t: f"{level[0]}, [{t:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999999):06d} #{rng.randint(100, 99999)}] {level:>5} -- {rng.choice(['', 'ActiveRecord', 'Sidekiq'])}: {msg}"),
    "elasticsearch": (LOG4J_LEVELS, lambda rng, level, msg, t: f"[{t:%Y-%m-%dT%H:%M:%S},{rng.randint(0, 999):03d}][{level:<5}][o.e.c.r.a.DiskThresholdMonitor] [node-{rng.randint(1, 3)}] {msg}"),
    "windows_cbs": ({"error": ["Error"], "warning": ["Warning"], "info": ["Info"]}, lambda rng, level, msg, t: f"{t:%Y-%m-%d %H:%M:%S}, {level:<22}{rng.choice(['CBS', 'CSI', 'DPX'])}    {msg}"),
}  # fmt: skip


def one_line(name: str) -> Callable:
    """The generator of ``name`` in ONE_LINE_FORMATS."""
    levels, line = ONE_LINE_FORMATS[name]

    def make(rng, n, variant):
        return leveled(rng, n, lambda level, msg, t: line(rng, level, msg, t), levels)

    return make


FORMATS: dict[str, Callable] = {
    "apache_error": apache_error, "logcat": logcat, "log4j": log4j, "hadoop": hadoop, "openstack": openstack,
    "syslog": syslog, "journald": journald, "go_log": go_log, "glog": one_line("glog"), "systemd": systemd, "bgl": bgl,
    "nginx": nginx, "postgres": postgres, "mysql": one_line("mysql"), "redis": redis, "zookeeper": one_line("zookeeper"),
    "ruby_logger": one_line("ruby_logger"), "elasticsearch": one_line("elasticsearch"), "windows_cbs": one_line("windows_cbs"), "aspnet": aspnet,
    "jul": jul, "kv_metrics": key_value_metrics, "aider": aider, "ssh_git": ssh_git, "agent_chat": agent_chat,
}  # fmt: skip


def write(path: Path, records: list[Record]) -> int:
    """Write the lines and `<name>.labels.jsonl` (1-based inclusive spans); the line count."""
    lines: list[str] = []
    labels: list[dict] = []
    for record_lines, label in records:
        start = len(lines) + 1
        lines.extend(record_lines)
        if label is not None:
            labels.append({"type": label, "line_start": start, "line_end": len(lines)})
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".labels.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels))
    return len(lines)


def main() -> None:
    total = 0
    for split, seed, variant, count in (("generated", 1, 0, 150), ("heldout", 2, 1, 60)):
        out = HERE / split
        out.mkdir(exist_ok=True)
        for name, make in FORMATS.items():
            rng = random.Random(f"{seed}:{name}")
            total += write(out / f"{name}.log", make(rng, count, variant))
    print(f"wrote {total} lines")


if __name__ == "__main__":
    main()
