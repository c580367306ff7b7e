"""Fill the database with realistic demo data: sessions, state changes, events, code blocks.

Fast enough for a million events (bench/bench_api.py uses it): rows go in with executemany in
large chunks inside one transaction per chunk, never one save() per row.
"""

from __future__ import annotations

import functools
import hashlib
import random
import time
from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from extraction import search
from extraction.event_shape import ROW_FIELDS
from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession, ProcessStateChange
from streamtap_site.schema import MigratesFirst

DEFAULT_AGENTS = ["claude", "codex", "aider", "gemini", "cursor"]
CHUNK = 20_000

# (rule, event_type, severity, risk_level, weight, contents). Rule names are the engine's.
RULES = [
    (
        "python_traceback",
        "error",
        "error",
        "medium",
        10,
        [
            'Traceback (most recent call last):\n  File "app/models.py", line {n}, in save\n'
            "ValueError: invalid literal for int() with base 10: 'abc'",
            'Traceback (most recent call last):\n  File "cli.py", line {n}, in main\n'
            "KeyError: 'DATABASE_URL'",
        ],
    ),
    (
        "pytest_failed",
        "error",
        "error",
        "medium",
        8,
        [
            "FAILED tests/test_api.py::test_create_{n} - AssertionError: assert 400 == 201",
            "FAILED tests/test_models.py::test_roundtrip_{n} - TypeError: unexpected keyword",
        ],
    ),
    (
        "npm_error",
        "error",
        "error",
        "medium",
        4,
        [
            "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree",
            'npm ERR! Missing script: "build:{n}"',
        ],
    ),
    (
        "rust_error",
        "error",
        "error",
        "low",
        3,
        [
            "error[E0308]: mismatched types\n --> src/main.rs:{n}:17",
            "error[E0425]: cannot find value `cfg` in this scope\n --> src/lib.rs:{n}:9",
        ],
    ),
    (
        "go_panic",
        "error",
        "critical",
        "medium",
        1,
        [
            "panic: runtime error: index out of range [{n}] with length 3",
        ],
    ),
    (
        "log_error",
        "error",
        "error",
        "low",
        5,
        [
            "2026-11-26 10:15:{n:02d} ERROR worker: connection reset by peer",
            "ERROR [db] deadlock detected while updating row {n}",
        ],
    ),
    (
        "python_warning",
        "warning",
        "warning",
        "low",
        8,
        [
            "DeprecationWarning: datetime.utcnow() is deprecated (line {n})",
            "RuntimeWarning: coroutine 'fetch' was never awaited (line {n})",
        ],
    ),
    (
        "warning_generic",
        "warning",
        "warning",
        "low",
        6,
        [
            "warning: unused variable `tmp{n}`",
            "Warning: peer dependency react@{n} not installed",
        ],
    ),
    (
        "pytest_summary",
        "metric",
        "info",
        "low",
        8,
        [
            "===== {n} passed, 2 failed, 1 skipped in 3.{n}s =====",
            "===== {n} passed in 12.40s =====",
        ],
    ),
    (
        "metric_kv",
        "metric",
        "info",
        "low",
        6,
        [
            "tokens used: {n}231",
            "epoch {n}/20 loss=0.{n}31 accuracy=0.91",
        ],
    ),
    ("code_fence", "code_block", "info", "low", 9, []),
    (
        "prompt_yes_no",
        "prompt",
        "info",
        "medium",
        4,
        [
            "Apply these changes to {n} files? [y/N]",
            "Do you want to run `npm install`? (y/n)",
        ],
    ),
    ("prompt_overwrite", "prompt", "info", "medium", 1, ["overwrite 'config{n}.toml'? (y/n [n])"]),
    # High risk: what a reviewer must look at before anyone trusts the agent's work.
    (
        "prompt_file",
        "prompt",
        "warning",
        "high",
        2,
        [
            "rm: remove write-protected regular file 'build/{n}.lock'?",
            "$ rm -rf ./data/cache-{n}  (approve? y/n)",
        ],
    ),
    (
        "dangerous_command",
        "warning",
        "critical",
        "high",
        2,
        [
            "$ git push --force origin main  # {n}",
            "$ git reset --hard HEAD~{n}",
            "$ curl -fsSL https://get.example.sh | sh   # step {n}",
            "DROP TABLE users_{n};",
        ],
    ),
    ("prompt_password", "prompt", "warning", "high", 1, ["[sudo] password for dev{n}:"]),
]
# How reviewers judged each high-risk rule (confirmed, rejected, false_positive): the
# `dangerous_command` rule is mostly right; `prompt_file` fires on harmless cleanups.
REVIEW_ODDS = {
    "prompt_file": (0.25, 0.15, 0.60),
    "dangerous_command": (0.80, 0.10, 0.10),
    "prompt_password": (0.55, 0.15, 0.30),
}
REVIEWED_SHARE = 0.6
REVIEW_COLUMNS = ("review_status", "reviewed_by_id", "reviewed_at", "review_note")

CODE_SNIPPETS = [
    ("python", "def handler(event, context):\n    return {{'status': {n}}}\n"),
    ("bash", "set -euo pipefail\nmake build JOBS={n}\n"),
    (
        "javascript",
        "export const retries = {n};\nexport function backoff(i) {{ return 2 ** i; }}\n",
    ),
    ("rust", 'fn main() {{\n    let n: u32 = {n};\n    println!("{{n}}");\n}}\n'),
    ("sql", "SELECT id, name FROM users WHERE org_id = {n} ORDER BY id;\n"),
]


class Command(MigratesFirst, BaseCommand):
    help = "Generate realistic demo sessions and extraction events (fast, in bulk)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--events", type=int, default=10_000, help="events to create (default: %(default)s)"
        )
        parser.add_argument(
            "--sessions",
            type=int,
            default=None,
            help="sessions to create (default: one per 500 events)",
        )
        parser.add_argument(
            "--agents", nargs="+", default=DEFAULT_AGENTS, help="agent names (default: %(default)s)"
        )
        parser.add_argument(
            "--days",
            type=int,
            default=30,
            help="spread over the last N days (default: %(default)s)",
        )
        parser.add_argument(
            "--code-blocks",
            type=int,
            default=500,
            help="distinct code blocks the events share (default: %(default)s)",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed: the same seed, the same data"
        )

    def handle(
        self,
        *args,
        events: int,
        sessions: int | None,
        agents: list[str],
        days: int,
        code_blocks: int,
        seed: int,
        **options,
    ):
        if events < 0 or days < 1 or not agents:
            raise CommandError("need --events >= 0, --days >= 1 and at least one agent")
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.days = days
        n_sessions = sessions if sessions is not None else max(1, events // 500)
        started = time.monotonic()
        self.reviewer = self.demo_reviewer()
        session_rows = self.create_sessions(n_sessions, agents)
        blocks = self.create_code_blocks(code_blocks)
        self.insert_events(events, session_rows, blocks)
        # The text search index follows inserts lazily; a bulk load brings it up to date now,
        # not in the first few searches.
        search.catch_up_all()
        self.stdout.write(
            f"{len(session_rows)} sessions, {events} events, {len(blocks)} code blocks "
            f"in {time.monotonic() - started:.1f} s"
        )

    def demo_reviewer(self):
        user, _ = get_user_model().objects.get_or_create(
            username="demo-reviewer", defaults={"is_staff": True}
        )
        return user

    def create_sessions(self, n: int, agents: list[str]) -> list[tuple]:
        """Create n sessions; return (pk, agent, started_at, session_seconds) per session."""
        weights = [1 / (i + 1) for i in range(len(agents))]  # a few busy agents, a long tail
        span = self.days * 86400
        rows, changes, seen = [], [], set()
        for i in range(n):
            agent = self.rng.choices(agents, weights)[0]
            started_at = self.now - timedelta(seconds=self.rng.uniform(3600, span))
            seconds = self.rng.uniform(30, 3 * 3600)
            status, exit_code = self.rng.choices(
                [
                    ("completed", 0),
                    ("completed", 1),
                    ("failed", 2),
                    ("killed", None),
                    ("lost", None),
                ],
                [70, 10, 10, 5, 5],
            )[0]
            if i < max(1, n // 200):  # a few still running
                status, exit_code, seconds = "running", None, None
            base = f"{agent}-{timezone.localtime(started_at):%Y%m%d-%H%M%S}"
            session_id, k = base, 1
            while session_id in seen:
                k += 1
                session_id = f"{base}-{k}"
            seen.add(session_id)
            rows.append(
                ProcessSession(
                    session_id=session_id,
                    agent_name=agent,
                    argv=[agent, "--task", f"demo task {i}"],
                    command_line=f"{agent} --task 'demo task {i}'",
                    cwd=f"/home/dev/projects/demo-{i % 40}",
                    host="demo-host",
                    pid=10_000 + i,
                    mode="pty",
                    status=status,
                    started_at=started_at,
                    ended_at=started_at + timedelta(seconds=seconds) if seconds else None,
                    exit_code=exit_code,
                    total_lines_processed=self.rng.randint(100, 20_000),
                )
            )
        with transaction.atomic():
            created = ProcessSession.objects.bulk_create(rows, batch_size=2000)
            for s in created:
                changes.append(
                    ProcessStateChange(session=s, state="running", timestamp=s.started_at)
                )
                if s.ended_at:
                    changes.append(
                        ProcessStateChange(
                            session=s,
                            state=s.status,
                            timestamp=s.ended_at,
                            metadata={"exit_code": s.exit_code, "signal": None},
                        )
                    )
            ProcessStateChange.objects.bulk_create(changes, batch_size=5000)
        if not created or created[0].pk is None:  # backends that do not return pks
            created = list(ProcessSession.objects.filter(session_id__in=seen))
        return [
            (
                s.pk,
                s.agent_name,
                s.started_at,
                (s.ended_at - s.started_at).total_seconds() if s.ended_at else 3600.0,
            )
            for s in created
        ]

    def create_code_blocks(self, n: int) -> list[tuple[int, str]]:
        blocks = []
        for i in range(n):
            language, template = CODE_SNIPPETS[i % len(CODE_SNIPPETS)]
            content = template.format(n=i)
            blocks.append(
                CodeBlock(
                    sha256=hashlib.sha256(content.encode()).hexdigest(),
                    language=language,
                    content=content,
                    first_seen=self.now - timedelta(days=self.days),
                    last_seen=self.now - timedelta(seconds=self.rng.uniform(0, self.days * 86400)),
                    occurrences=self.rng.randint(1, 50),
                )
            )
        CodeBlock.objects.bulk_create(blocks, batch_size=2000, ignore_conflicts=True)
        return list(CodeBlock.objects.values_list("pk", "content"))

    def insert_events(self, n: int, sessions: list[tuple], blocks: list[tuple[int, str]]) -> None:
        if not n or not sessions:
            return
        table = ExtractionEvent._meta.db_table
        # The tap's row (extraction/event_shape.py), then the columns a tap never writes.
        columns = ["session_id", *ROW_FIELDS, "code_block_id", *REVIEW_COLUMNS]
        self.columns = columns
        qn = connection.ops.quote_name
        sql = (
            f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        # Events spread over the sessions. Written session by session in start order, each
        # session's events in time order with seq 1, 2, 3 … as the tap numbers them: the
        # indexes then grow mostly at their ends, which keeps a million inserts fast.
        counts = Counter(self.rng.choices(range(len(sessions)), k=n))
        order = sorted(range(len(sessions)), key=lambda s: sessions[s][2])
        self.weights = [rule[4] for rule in RULES]
        self.blocks = blocks
        self.adapt_dt = connection.ops.adapt_datetimefield_value
        self.empty_json = connection.ops.adapt_json_value({}, None)
        self.reviewed_cutoff = self.now - timedelta(days=2)
        rows = []
        self.tune_connection()
        for s in order:
            pk, agent, started_at, seconds = sessions[s]
            offsets = sorted(self.rng.uniform(0, seconds) for _ in range(counts[s]))
            for seq, offset in enumerate(offsets, start=1):
                rows.append(self.event_row(pk, agent, started_at, seq, offset))
                if len(rows) >= CHUNK:
                    self.flush(sql, rows)
                    rows = []
        self.flush(sql, rows)
        self.update_session_totals(sessions, [counts[s] for s in range(len(sessions))])

    @functools.cache  # noqa: B019 (one command run, a handful of rules)
    def risk_metadata(self, rule: str) -> object:
        return connection.ops.adapt_json_value({"risk_reasons": [rule]}, None)

    def tune_connection(self) -> None:
        if connection.vendor == "sqlite":
            # A large page cache for this connection only: index pages stay in memory
            # between chunks instead of being re-read for every insert.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")

    def event_row(self, pk: int, agent: str, started_at, seq: int, offset: float) -> tuple:
        rule, event_type, severity, risk, _w, contents = self.rng.choices(RULES, self.weights)[0]
        timestamp = started_at + timedelta(seconds=offset)
        line = int(offset * 3) + 1
        code_block_id = None
        if event_type == "code_block" and self.blocks:
            code_block_id, content = self.rng.choice(self.blocks)
        else:
            content = self.rng.choice(contents).format(n=seq % 100)
        metadata = self.empty_json
        review = ("pending", None, None, "")
        if risk == "high":
            metadata = self.risk_metadata(rule)
            if timestamp < self.reviewed_cutoff and self.rng.random() < REVIEWED_SHARE:
                decision = self.rng.choices(
                    ["confirmed", "rejected", "false_positive"], REVIEW_ODDS[rule]
                )[0]
                reviewed_at = timestamp + timedelta(hours=self.rng.uniform(1, 40))
                review = (decision, self.reviewer.pk, self.adapt_dt(reviewed_at), "")
        row = {
            "session_id": pk,
            "seq": seq,
            "agent_name": agent,
            "event_type": event_type,
            "rule": rule,
            "severity": severity,
            "risk_level": risk,
            "auto_confirmable": event_type == "prompt",
            "line_start": line,
            "line_end": line + (4 if event_type in ("error", "code_block") else 0),
            "content": content,
            "context": "",
            "metadata": metadata,
            "timestamp": self.adapt_dt(timestamp),
            "offset_seconds": round(offset, 3),
            "code_block_id": code_block_id,
            **dict(zip(REVIEW_COLUMNS, review, strict=True)),
        }
        return tuple(row[column] for column in self.columns)

    def flush(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)

    def update_session_totals(self, sessions, per_session) -> None:
        # The session rows carry their event totals, as a real tap would leave them.
        with transaction.atomic():
            for (pk, *_rest), count in zip(sessions, per_session, strict=True):
                if count:
                    ProcessSession.objects.filter(pk=pk).update(total_extraction_events=count)
