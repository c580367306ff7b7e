"""A wrapped process's life: one ProcessSession row, and one ProcessStateChange per transition."""

from __future__ import annotations

import json
import math
import os
import re
import socket
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import PurePath

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone


class SessionStatus(models.TextChoices):
    RUNNING = "running"
    WAITING_FOR_INPUT = "waiting_for_input"
    COMPLETED = "completed"
    FAILED = "failed"
    KILLED = "killed"
    LOST = "lost"


LIVE_STATUSES = (SessionStatus.RUNNING, SessionStatus.WAITING_FOR_INPUT)

AGENT_NAME_MAX = 64
_AGENT_NAME_EXTRA = "-_."


def is_agent_name(name: str) -> bool:
    """Whether ``name`` can name an agent as it is: it becomes part of session ids and URLs."""
    return name == agent_name_from(name)


def agent_name_from(text: str) -> str:
    """An agent name made from any text (a program's file name, a remote tap's claim).

    A "/" or a space in a session id broke every page that links to it, and a 300-character
    name overflowed the column on PostgreSQL: other characters become "-", and the name is cut.
    """
    name = "".join(c if c.isalnum() or c in _AGENT_NAME_EXTRA else "-" for c in text)
    while "--" in name:
        name = name.replace("--", "-")
    name = name.strip("-_.")[:AGENT_NAME_MAX].rstrip("-_.")
    return name or "process"


# Interpreters whose own name says nothing about the program: the script (or module) names it.
_INTERPRETER = re.compile(
    r"(python|pypy|node|nodejs|deno|bun|bash|sh|zsh|dash|ksh|fish|ruby|perl|php|Rscript)"
    r"[0-9.]*(\.exe)?"
)
# Options that take the next word as their value (so it is not the script).
_OPTIONS_WITH_VALUE = {"-W", "-X", "-r", "--require", "--import", "--loader", "-o"}
# Options after which the program is inline code: no script to name it after.
_INLINE_CODE = {"-c", "-e", "--eval", "-p", "--print"}


def agent_name_for(argv: list[str]) -> str:
    """The agent name of a command: its program's name, or its script's for an interpreter.

    Every Python script was "python3": ``python3 train.py`` is ``train``, ``python -m mod`` is
    ``mod``, ``node x.js`` is ``x``, ``bash x.sh`` is ``x``.
    """
    words = list(argv)
    if len(words) > 1 and PurePath(words[0]).name == "env":
        words = [w for w in words[1:] if "=" not in w or w.startswith("-")]
    if not words:
        return agent_name_from("")
    program = PurePath(words[0]).name
    if not _INTERPRETER.fullmatch(program):
        return agent_name_from(program)
    args = iter(words[1:])
    for word in args:
        if word == "-m":
            return agent_name_from(next(args, "") or program)
        if word in _INLINE_CODE or word == "-":
            break
        if word in _OPTIONS_WITH_VALUE:
            next(args, None)
        elif not word.startswith("-"):
            return agent_name_from(PurePath(word).stem or program)
    return agent_name_from(program)


# ---- liveness: a tap's writer stamps last_heartbeat; a live session whose tap stopped is lost ----

# Missed beats before a session is lost: one late beat (a slow commit, a busy machine) is no death.
LOST_AFTER_BEATS = 3


def heartbeat_seconds() -> float:
    """How often a tap's writer stamps last_heartbeat (the tap and the server read one setting)."""
    return float(settings.STREAMTAP["HEARTBEAT_SECONDS"])


def lost_cutoff(now=None):
    """A live session with no sign of life since this moment has lost its tap."""
    return (now or timezone.now()) - timedelta(seconds=LOST_AFTER_BEATS * heartbeat_seconds())


class ProcessSessionQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=LIVE_STATUSES)

    def for_agent(self, agent_name: str):
        return self.filter(agent_name=agent_name)

    def started_within(self, days: int):
        return self.filter(started_at__gte=timezone.now() - timedelta(days=days))

    def search(self, text: str):
        return self.filter(Q(session_id__icontains=text) | Q(command_line__icontains=text))

    # Liveness. A session without a heartbeat yet is judged by its start.

    def silent_since(self, cutoff):
        return self.filter(
            Q(last_heartbeat__lt=cutoff) | Q(last_heartbeat__isnull=True, started_at__lt=cutoff)
        )

    def alive(self, now=None):
        """Live sessions whose tap beat recently: what "live sessions now" counts."""
        cutoff = lost_cutoff(now)
        return self.live().filter(
            Q(last_heartbeat__gte=cutoff) | Q(last_heartbeat__isnull=True, started_at__gte=cutoff)
        )

    def mark_lost(self, now=None) -> list[ProcessSession]:
        """Mark live sessions whose tap stopped beating as lost; return those this call marked.

        Several server processes sweep at once: the status changes in one conditional UPDATE
        per session, and only the process whose UPDATE changed the row records the "lost"
        state change (and announces it). ``ended_at`` stays empty: nobody knows when the
        program ended, and a tap that beats again takes its session back (``revive``).
        """
        now = now or timezone.now()
        cutoff = lost_cutoff(now)
        return self._move(
            self.live().silent_since(cutoff),
            lambda row, session: row.filter(status=session.status).silent_since(cutoff),
            SessionStatus.LOST,
            now,
            lambda session: {
                "reason": "no heartbeat",
                "last_heartbeat": (
                    session.last_heartbeat.isoformat() if session.last_heartbeat else None
                ),
                "was": session.status,
            },
        )

    def revive(self, now=None) -> list[ProcessSession]:
        """Sessions marked lost by the server whose tap beats again: running once more."""
        now = now or timezone.now()
        cutoff = lost_cutoff(now)
        still_lost = {
            "status": SessionStatus.LOST,
            "ended_at__isnull": True,
            "last_heartbeat__gte": cutoff,
        }
        return self._move(
            self.filter(**still_lost),
            lambda row, session: row.filter(**still_lost),
            SessionStatus.RUNNING,
            now,
            lambda session: {"reason": "heartbeat again"},
        )

    @staticmethod
    def _move(candidates, still, status: str, now, metadata) -> list[ProcessSession]:
        """Move each candidate to ``status`` in one conditional UPDATE (``still(row, session)``
        narrows its row to the condition); only the caller whose UPDATE changed the row records
        the state change (``metadata(session)``, read before the status changes). Returns those.
        """
        moved = []
        for session in candidates.order_by():
            with transaction.atomic():
                row = ProcessSession.objects.filter(pk=session.pk)
                if not still(row, session).update(status=status):
                    continue
                ProcessStateChange.objects.create(
                    session=session, state=status, timestamp=now, metadata=metadata(session)
                )
            session.status = status
            moved.append(session)
        return moved


class ProcessSession(models.Model):
    session_id = models.CharField(max_length=160, unique=True)
    agent_name = models.CharField(max_length=100)
    argv = models.JSONField(default=list)
    command_line = models.TextField(blank=True, help_text="argv joined for display and search")
    cwd = models.TextField(blank=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    environment = models.JSONField(
        default=dict, blank=True, help_text="a redacted, allow-listed subset of the environment"
    )
    mode = models.CharField(max_length=8, default="pipe", help_text="pty or pipe")
    term_cols = models.PositiveIntegerField(default=80)
    term_rows = models.PositiveIntegerField(default=24)
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.RUNNING
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    exit_signal = models.IntegerField(null=True, blank=True)
    total_lines_processed = models.BigIntegerField(default=0)
    total_extraction_events = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    event_counts = models.JSONField(default=dict, blank=True, help_text="events by type")
    prompt_wait_seconds = models.FloatField(
        default=0.0, help_text="time the program spent blocked on prompts"
    )
    recording_path = models.TextField(blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    dropped_events = models.BigIntegerField(
        default=0,
        help_text="events the tap could not hand to the database in time: the recording has "
        "them, and `recover` stores them",
    )

    objects = ProcessSessionQuerySet.as_manager()

    class Meta:
        db_table = "process_sessions"
        ordering = ["-started_at"]
        indexes = [
            # Sessions list filtered by agent, newest first; agent stats.
            models.Index(fields=["agent_name", "-started_at"], name="ps_agent_started"),
            # Sessions list filtered by status (live ones first on the dashboard).
            models.Index(fields=["status", "-started_at"], name="ps_status_started"),
            # Sessions list without filters and "started within N days".
            models.Index(fields=["-started_at"], name="ps_started"),
        ]

    def __str__(self) -> str:
        return self.session_id

    def get_absolute_url(self) -> str:
        return reverse("st-session-detail", args=[self.session_id])

    @property
    def has_recording(self) -> bool:
        return bool(self.recording_path) and os.path.isfile(self.recording_path)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def duration(self) -> timedelta | None:
        end = self.ended_at or (timezone.now() if self.is_live else None)
        return end - self.started_at if end else None

    @classmethod
    def start(cls, agent_name: str, tap_pid: int | None = None, **fields) -> ProcessSession:
        """Create the row for a new session with a unique `{agent}-{YYYYMMDD-HHMMSS}` id.

        Two taps of one agent in the same second get `-2`, `-3`, … suffixes; the unique
        constraint decides, so this is safe across processes and hosts.
        """
        started_at = fields.pop("started_at", None) or timezone.now()
        fields.setdefault("host", socket.gethostname())
        agent_name = agent_name_from(agent_name)  # a usable name is kept as it is
        base = f"{agent_name}-{timezone.localtime(started_at):%Y%m%d-%H%M%S}"
        for attempt in range(1, 1000):
            session_id = base if attempt == 1 else f"{base}-{attempt}"
            try:
                with transaction.atomic():
                    session = cls.objects.create(
                        session_id=session_id,
                        agent_name=agent_name,
                        started_at=started_at,
                        **fields,
                    )
                    # The tap's pid lets `recover` tell a live tap from a dead one.
                    session.change_state(
                        SessionStatus.RUNNING, at=started_at, pid=fields.get("pid"), tap_pid=tap_pid
                    )
                    return session
            except IntegrityError:
                continue
        raise RuntimeError(f"could not allocate a session id for {agent_name!r}")

    def pending_prompt(self) -> dict | None:
        """What the program is waiting at, if it is and nobody has answered yet."""
        if self.status != SessionStatus.WAITING_FOR_INPUT:
            return None
        change = (
            self.state_changes.filter(state="waiting_for_input")
            .order_by("-timestamp", "-id")
            .first()
        )
        if change is None or "seq" not in change.metadata:
            return None
        seq = change.metadata["seq"]
        # Answered, superseded by the program's next question, or left when it ended: not
        # waiting any more (triage, review_status, answers nothing).
        if (
            self.events.filter(seq=seq, prompt_decision__isnull=False).exists()
            or self.state_changes.filter(state="prompt_answered", metadata__seq=seq).exists()
        ):
            return None
        return change.metadata

    def change_state(
        self, state: str, at=None, metadata: dict | None = None, **more
    ) -> ProcessStateChange:
        """Record a transition. Lifecycle states also become the session's status."""
        at = at or timezone.now()
        metadata = {**(metadata or {}), **more}
        change = ProcessStateChange.objects.create(
            session=self, state=state, metadata=metadata, timestamp=at
        )
        if state in SessionStatus.values and state != self.status:
            self.status = state
            ProcessSession.objects.filter(pk=self.pk).update(status=state)
        return change

    def change_states(self, changes: list[tuple[str, dict, object]]) -> None:
        """Several transitions ``(state, metadata, at)`` at once: one insert, one status update."""
        if not changes:
            return
        # executemany with plain conversions: bulk_create, then the fields' own
        # get_db_prep_save, cost a prompt-heavy session's writer a fifth, then a tenth, of its time.
        meta = ProcessStateChange._meta
        fields = [meta.get_field(name) for name in ("session", "state", "metadata", "timestamp")]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES (%s, %s, %s, %s)"
        to_text, to_json, to_time = (converter(f, connection.vendor) or as_is for f in fields[1:])
        rows = [
            (self.pk, to_text(state), to_json(metadata or {}), to_time(at))
            for state, metadata, at in changes
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
            self._mark_prompts_left(cursor, changes, to_time)
        statuses = frozenset(SessionStatus.values)  # a list Django builds at every access
        lifecycle = [state for state, _, _ in changes if state in statuses]
        if lifecycle and lifecycle[-1] != self.status:
            self.status = lifecycle[-1]
            ProcessSession.objects.filter(pk=self.pk).update(status=self.status)

    # The prompt decisions (extraction.models.PromptDecision, a layer above this one) of a
    # prompt the program left: it asked something else, or it ended.
    PROMPT_OUTCOMES_LEFT_BY_PROGRAM = ("superseded", "unanswered")

    def _mark_prompts_left(self, cursor, changes, to_time) -> None:
        """A prompt the program left unanswered gets its decision with the state that says so.

        The tap records "prompt_answered" by the program, outcome superseded (it asked its next
        question) or unanswered (it ended); the prompt's row is marked here, in the same
        transaction, unless someone answered it first, and the tap sends that state only after
        the row. Done by the tap's prompt thread instead, each mark was an ORM UPDATE, retried
        while the row was on its way to the database, and the last prompt's could miss it
        altogether: 1.1 s of the tap's CPU on the heavy bench input's 8,500 prompts, against
        ~0.05 s of the writer's here.
        """
        left = self.PROMPT_OUTCOMES_LEFT_BY_PROGRAM
        marks = [
            (metadata["outcome"], "program", to_time(at), self.pk, metadata["seq"])
            for state, metadata, at in changes
            if state == "prompt_answered"
            and metadata.get("by") == "program"
            and metadata.get("outcome") in left
            and type(metadata.get("seq")) is int
        ]
        if not marks:
            return
        table = self.events.model._meta.db_table
        cursor.executemany(
            f"UPDATE {table} SET prompt_decision = %s, prompt_decision_by = %s, "
            "prompt_decided_at = %s WHERE session_id = %s AND seq = %s "
            "AND prompt_decision IS NULL",
            marks,
        )

    # ---- bookkeeping: the one place for a session's statistics and its end ----
    # The tap's writer, remote ingest, `recover` and `import_cast` all go through these.

    # Figures a tap reports while it runs (all ≥ 0); anything else in a stats dict is ignored.
    STAT_FIELDS = ("total_lines_processed", "bytes_out", "prompt_wait_seconds", "dropped_events")

    @classmethod
    def stat_values(cls, stats: dict | None) -> dict:
        """The known statistics out of ``stats``, in the model's field names."""
        return {k: v for k, v in (stats or {}).items() if k in cls.STAT_FIELDS}

    def record_stats(self, stats: dict | None = None, *, heartbeat: bool = True) -> None:
        """Store a running tap's statistics in one UPDATE; ``heartbeat`` stamps last_heartbeat.

        The heartbeat tells the server the tap is alive (sessions that stop beating are lost).
        """
        fields = self.stat_values(stats)
        if heartbeat:
            fields["last_heartbeat"] = timezone.now()
        if not fields:
            return
        for name, value in fields.items():
            setattr(self, name, value)
        ProcessSession.objects.filter(pk=self.pk).update(**fields)

    def refresh_counts(self) -> dict:
        """Count the stored events by type into event_counts and total_extraction_events."""
        counts = dict(self.events.values_list("event_type").annotate(n=Count("id")).order_by())
        self.event_counts = counts
        self.total_extraction_events = sum(counts.values())
        ProcessSession.objects.filter(pk=self.pk).update(
            event_counts=counts, total_extraction_events=self.total_extraction_events
        )
        return counts

    def finish(
        self,
        *,
        status: str,
        exit_code: int | None = None,
        exit_signal: int | None = None,
        ended_at=None,
        stats: dict | None = None,
        **legacy,
    ) -> None:
        """Store the outcome, the final statistics and the event counts (counted here, from the
        stored events), and record the final state change.

        ``legacy``: the old call's keywords (each statistic alone; event_counts and
        total_extraction_events, now counted here and ignored). Deprecated: pass ``stats``.
        """
        stats = {**legacy, **(stats or {})}
        self.refresh_counts()
        self.ended_at = ended_at or timezone.now()
        self.exit_code = exit_code
        self.exit_signal = exit_signal
        for name, value in self.stat_values(stats).items():
            setattr(self, name, value)
        self.status = status
        with transaction.atomic():
            self.save()
            ProcessStateChange.objects.create(
                session=self,
                state=status,
                timestamp=self.ended_at,
                metadata={"exit_code": exit_code, "signal": exit_signal},
            )

    # ---- end of the bookkeeping block ----


class ProcessStateChange(models.Model):
    session = models.ForeignKey(
        ProcessSession, on_delete=models.CASCADE, related_name="state_changes"
    )
    state = models.CharField(max_length=40)
    metadata = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "process_state_changes"
        ordering = ["timestamp", "id"]
        indexes = [
            # A session's timeline (session page, API detail).
            models.Index(fields=["session", "timestamp"], name="psc_session_time"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.state}"

    def summary(self) -> str:
        return state_summary(self.metadata)


# The screen a prompt was found on is shown on its own; here it would be a wall of text.
_SUMMARY_SKIPPED = {"screen"}
SUMMARY_VALUE_CHARS = 80


def state_summary(metadata: dict) -> str:
    """A state change's metadata as one readable line: key=value, empty values left out.

    static/js/session.js writes the same line for state changes that arrive live.
    """
    parts = []
    for key, value in (metadata or {}).items():
        if key in _SUMMARY_SKIPPED or value is None or value in ("", [], {}):
            continue
        if key == "options" and isinstance(value, list):
            value = "/".join(str(o.get("key")) for o in value if isinstance(o, dict))
        elif isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        text = str(value)
        if len(text) > SUMMARY_VALUE_CHARS:
            text = text[: SUMMARY_VALUE_CHARS - 1] + "…"
        parts.append(f"{key}={text}")
    return " ".join(parts)


# ---- field values as the database driver takes them, converted with plain functions ----
# The writers (the tap's, remote ingest, `recover`, `import_cast`, the groups' upserts) insert
# with ``executemany`` on rows built from the models' ``_meta``; Django's ``get_db_prep_save``
# through the connection proxy cost half of their time. Only JSON, datetimes and (on
# PostgreSQL, which cannot store NUL) text need converting. The model's side, so the writers
# import it from here (``sessions.db_values`` is a deprecated alias).

json_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _holds_non_finite(value) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is dict:
        return any(map(_holds_non_finite, value.values()))
    if kind is list or kind is tuple:
        return any(map(_holds_non_finite, value))
    return False


def fast_json_dumps(value) -> str:
    """``json_dumps`` (compact, not ASCII-escaped) through orjson, 3-4× faster on the rows'
    metadata. Where the two would differ in more than a float's spelling (``1e-05`` is
    ``0.00001``: the same number), the json module writes it: NaN and infinities (orjson writes
    them as null), keys that are not strings, integers beyond 64 bits and lone surrogates
    (orjson refuses those). A null is looked into, not sent there whole: every prompt of a
    program without a command (``"command": null``) went through the json module."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError included
        return json_dumps(value)
    return json_dumps(value) if "null" in text and _holds_non_finite(value) else text


def json_dumps_for_postgres(value) -> str:
    return json_dumps(value).replace("\\u0000", "\\ufffd")


def without_nul(value):
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


@lru_cache(maxsize=64)
def sqlite_datetime(value: datetime) -> str:
    """Django's SQLite storage of an aware datetime: naive UTC text (cached: a chunk's events
    share one timestamp)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ")


def as_is(value):
    return value


def converter(field, vendor: str):
    """A plain function that turns a value of ``field`` into the driver's, or None (as is)."""
    kind = field.get_internal_type()
    postgres = vendor == "postgresql"
    if kind == "JSONField":
        if postgres:
            from psycopg.types.json import Jsonb

            return lambda value: Jsonb(value, dumps=json_dumps_for_postgres)
        return fast_json_dumps
    if postgres and kind in ("TextField", "CharField"):
        return without_nul
    if kind == "DateTimeField":
        if vendor == "sqlite":
            return sqlite_datetime
        return None  # psycopg adapts aware datetimes itself
    return None


# Rows one multi-row statement carries at most (PostgreSQL takes 65,535 parameters).
ROWS_PER_STATEMENT = 2_000


def execute_rows(cursor, sql: str, rows: list) -> None:
    """``cursor.executemany(sql, rows)`` for an ``INSERT … VALUES (…) …``; on PostgreSQL one
    statement with a VALUES row per item instead. psycopg runs an executemany as a statement
    per row, and a batch's group and code-block upserts, a few hundred rows, were a quarter of
    the PostgreSQL writer's time. The rows must not conflict with each other (an
    ``ON CONFLICT DO UPDATE`` may not touch a row twice in one statement)."""
    if cursor.db.vendor != "postgresql" or len(rows) < 2:
        cursor.executemany(sql, rows)
        return
    head, _, rest = sql.partition(" VALUES ")
    end = _closing_parenthesis(rest)
    row_sql, tail = rest[: end + 1], rest[end + 1 :]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        values = ", ".join([row_sql] * len(chunk))
        cursor.execute(f"{head} VALUES {values}{tail}", [v for row in chunk for v in row])


def _closing_parenthesis(text: str) -> int:
    """Where the parenthesized group that ``text`` starts with ends."""
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position
    raise ValueError(f"no closing parenthesis in {text[:80]!r}")
