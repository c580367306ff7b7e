"""What streamtap found in a session's output: extraction events and deduplicated code blocks.

Imports nothing of the package above but ``extraction.search`` (a lower layer: Django only).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..event_shape import WENT_ON
from ..search import search


class EventType(models.TextChoices):
    ERROR = "error"
    WARNING = "warning"
    METRIC = "metric"
    CODE_BLOCK = "code_block"
    PROMPT = "prompt"


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class RiskLevel(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ReviewStatus(models.TextChoices):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    FALSE_POSITIVE = "false_positive"


REVIEW_DECISIONS = (ReviewStatus.CONFIRMED, ReviewStatus.REJECTED, ReviewStatus.FALSE_POSITIVE)


class PromptDecision(models.TextChoices):
    """How a prompt the program waited at was answered; apart from triage (review_status)."""

    APPROVE = "approve"
    DENY = "deny"
    # Keys typed at the terminal that match none of the prompt's options.
    UNKNOWN = "unknown"
    # The program asked something else or printed on past the question before anyone answered.
    SUPERSEDED = "superseded"
    UNANSWERED = "unanswered"


# Who may answer a program: the dashboard's approve/deny, the terminal, the policy, a timeout.
PROMPT_ANSWERS = (PromptDecision.APPROVE, PromptDecision.DENY)


def decide_passed_prompt(row: dict, at) -> bool:
    """A prompt row the program printed past before it was found (the pipeline's WENT_ON) is
    superseded by the program, at ``at``: nobody may answer it. True if the row is one; the
    live tap and recover or import_cast store the same."""
    if not row["metadata"].get(WENT_ON):  # only prompts carry it
        return False
    row["prompt_decision"] = PromptDecision.SUPERSEDED
    row["prompt_decision_by"] = "program"
    row["prompt_decided_at"] = at
    return True


def optional_link(to, related_name: str, *, on_delete=models.SET_NULL, **options):
    """A foreign key set on few rows: NULL elsewhere, no index of its own.

    Every index costs each insert of the tap's writer; where a query needs one, the model adds
    a partial index on the rows that have the key set (``ee_code_block``, ``ee_group_time``…).
    """
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=on_delete,
        related_name=related_name,
        db_index=False,
        **options,
    )


def newest_where(name: str, **condition) -> models.Index:
    """A partial index of the rows with a rare value, read newest first (one page of a filter).

    Ascending, read backwards (see ExtractionEvent.Meta.indexes for why)."""
    return models.Index(fields=["timestamp", "id"], condition=models.Q(**condition), name=name)


def where_set(field: str, name: str) -> models.Index:
    """A partial index of a foreign key on the few rows that have it set."""
    return models.Index(
        fields=[field], condition=models.Q(**{f"{field}__isnull": False}), name=name
    )


class CodeBlock(models.Model):
    sha256 = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=40, blank=True)
    content = models.TextField()
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    occurrences = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "code_blocks"
        ordering = ["-last_seen"]
        indexes = [
            # Code blocks page and API, newest first, optionally by language.
            models.Index(fields=["language", "-last_seen"], name="cb_language_seen"),
            models.Index(fields=["-last_seen"], name="cb_last_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.language or 'text'} {self.sha256[:12]}"


# The filters that select one column's exact value, parameter → lookup (`filtered()` below).
FILTER_COLUMNS = {
    "agent": "agent_name",
    "session": "session",
    "type": "event_type",
    "severity": "severity",
    "risk": "risk_level",
    "review_status": "review_status",
    "rule": "rule",
    "group": "group_id",
}


class ExtractionEventQuerySet(models.QuerySet):
    def search(self, q: str, *, limit: int = 50):
        """Events whose content or rule contains `q`, case-insensitively (extraction/search.py).

        `limit` is the page size the caller takes; it only steers the query plan.
        """
        return search(self, q, limit=limit)

    def filtered(self, params: dict):
        """The events that validated filters select (extraction/filters.py's EventQuery).

        The one filter path of the Events page, its exports and the API: `since` inclusive,
        `until` exclusive. The text search comes last: it may rewrite the query's table.
        """
        queryset = self
        for name, column in FILTER_COLUMNS.items():
            if params.get(name):
                queryset = queryset.filter(**{column: params[name]})
        if params.get("since"):
            queryset = queryset.filter(timestamp__gte=params["since"])
        if params.get("until"):
            queryset = queryset.filter(timestamp__lt=params["until"])
        if params.get("q"):
            queryset = queryset.search(params["q"], limit=params.get("limit", 50))
        return queryset

    def count_up_to(self, cap: int) -> int:
        """How many, counting at most `cap` + 1 rows: a count never walks a million rows."""
        return self.order_by()[: cap + 1].count()

    def high_risk_pending(self):
        return self.filter(risk_level=RiskLevel.HIGH, review_status=ReviewStatus.PENDING)

    def after_seq(self, session, seq: int):
        return self.filter(session=session, seq__gt=seq).order_by("seq")

    def since(self, days: int):
        return self.filter(timestamp__gte=timezone.now() - timedelta(days=days))


class ExtractionEvent(models.Model):
    # No index of its own on the foreign keys: (session, seq) is unique and leads with the
    # session; the code block and reviewer are set on few rows and get partial indexes. Every
    # index costs each insert (the tap's writer), and these three cost a fifth of it.
    session = models.ForeignKey(
        "tapsessions.ProcessSession",
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    # Numbered per session in the order the extractor found them: (session, seq) is the
    # event's identity, which makes every write idempotent and lets a client resume
    # "after seq N".
    seq = models.PositiveIntegerField()
    agent_name = models.CharField(max_length=100)
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    rule = models.CharField(max_length=100)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    risk_level = models.CharField(max_length=8, choices=RiskLevel.choices)
    auto_confirmable = models.BooleanField(default=False)
    line_start = models.PositiveIntegerField()
    line_end = models.PositiveIntegerField()
    content = models.TextField()
    context = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(default=timezone.now)
    offset_seconds = models.FloatField(
        default=0.0, help_text="seconds since the session started (position in the recording)"
    )
    code_block = optional_link(CodeBlock, "events")
    # The problem this error or warning is an occurrence of: the column holds the fingerprint
    # (extraction/engine/fingerprint.py) itself, so the writer stores it without a lookup.
    group = optional_link("ErrorGroup", "events", to_field="fingerprint", db_column="fingerprint")
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    reviewed_by = optional_link(settings.AUTH_USER_MODEL, "reviewed_events")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    # The answer to a prompt (approve/deny this action), never set by triage. NULL while the
    # prompt waits and on every other event type; nullable so the tap's writer inserts none.
    # NULL (not "") means "not decided": the tap's writer leaves out columns its rows lack.
    prompt_decision = models.CharField(  # noqa: DJ001
        max_length=16, choices=PromptDecision.choices, null=True, blank=True
    )
    prompt_decision_by = models.CharField(  # noqa: DJ001
        max_length=160, null=True, blank=True, help_text="dashboard:<user>, terminal, policy…"
    )
    prompt_decided_by = optional_link(settings.AUTH_USER_MODEL, "prompt_decisions")
    prompt_decided_at = models.DateTimeField(null=True, blank=True)

    objects = ExtractionEventQuerySet.as_manager()

    class Meta:
        db_table = "extraction_events"
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="ee_session_seq_unique"),
        ]
        # Lean on purpose (issue 19.4): every index costs each insert of the tap's writer, so
        # full indexes serve only the API and dashboard queries that need them, and rare values
        # get partial indexes that an insert of an ordinary (pending, not high-risk) event never
        # touches. A filter on a common value (type=error, risk=medium, review_status=pending)
        # walks ee_time newest first and finds its page within a few hundred rows. SQLite uses a
        # partial index only when the query repeats its WHERE term, hence one per rare value.
        # docs/architecture.md ("Index audit") names the benchmark request behind each.
        # The time columns are ascending although every list reads them newest first (both
        # databases walk an index backwards as fast): events arrive in time order, and a
        # descending index takes each one at the start of its range, where a full page splits
        # in halves that never fill again, so those indexes were twice their size; ascending,
        # each new entry goes at the end of its range (issue 19.5, docs/tap-performance.md).
        indexes = [
            # Unfiltered history newest first; ?since; every common-value filter.
            models.Index(fields=["timestamp", "id"], name="ee_time"),
            # Events list / API filtered by agent, newest first (an agent may be rare).
            models.Index(fields=["agent_name", "timestamp"], name="ee_agent_time"),
            # Agent stats: counts by type, risk, rule and review outcome read from the index
            # only.
            models.Index(
                fields=["agent_name", "event_type", "risk_level", "rule", "review_status"],
                name="ee_agent_stats",
            ),
            # ?rule= newest first ("Top rules" link there); a rule is usually a small share.
            # With review_status: the rules admin's precision (GROUP BY rule, review_status
            # over all events) reads this index alone.
            models.Index(fields=["rule", "timestamp", "review_status"], name="ee_rule_time"),
            # ?risk=high newest first.
            newest_where("ee_high_risk_time", risk_level="high"),
            # The review queue: pending high-risk events, oldest first.
            models.Index(
                fields=["timestamp", "id"],
                condition=models.Q(risk_level="high", review_status="pending"),
                name="ee_review_queue",
            ),
            # ?severity=critical, ?type=prompt newest first.
            newest_where("ee_critical_time", severity="critical"),
            newest_where("ee_prompt_time", event_type="prompt"),
            # ?review_status=confirmed|rejected|false_positive newest first: reviewed events
            # only, so a new (pending) event costs these nothing.
            *(
                newest_where(f"ee_{status}_time"[:30], review_status=status)
                for status in ("confirmed", "rejected", "false_positive")
            ),
            # A group's occurrences newest first, its sparkline, and the foreign key itself.
            models.Index(
                fields=["group", "timestamp"],
                condition=models.Q(group__isnull=False),
                name="ee_group_time",
            ),
            # The foreign keys set on few rows (SET NULL when a block or user is deleted; a
            # code block's occurrences page).
            where_set("code_block", "ee_code_block"),
            where_set("reviewed_by", "ee_reviewed_by"),
        ]

    def __str__(self) -> str:
        # The admin's titles and breadcrumbs: what it is, not the session's database id.
        return f"{self.event_type} #{self.seq} ({self.rule}) at {self.timestamp:%Y-%m-%d %H:%M:%S}"

    def decide_prompt(self, user, decision: str) -> str | None:
        """A person approves or denies a prompt the program is waiting at.

        The first answer wins (the terminal, the policy, a timeout or another reviewer may have
        answered, or the program moved on). The tap polls ``prompt_decision`` while the prompt is
        pending and types the answer into the program; triage (``review``) never answers.
        Returns None when this decision was taken, else why not.
        """
        if decision not in PROMPT_ANSWERS:
            raise ValueError("decision must be approve or deny")
        now = timezone.now()
        claimed = ExtractionEvent.objects.filter(
            pk=self.pk, event_type=EventType.PROMPT, prompt_decision__isnull=True
        ).update(
            prompt_decision=decision,
            prompt_decision_by=f"dashboard:{user.get_username()}",
            prompt_decided_by=user,
            prompt_decided_at=now,
        )
        self.refresh_from_db()
        if not claimed:
            by = f" by {self.prompt_decision_by}" if self.prompt_decision_by else ""
            return f"This prompt was answered already ({self.prompt_decision}{by})."
        self.session.change_state(
            "prompt_decision", at=now, seq=self.seq, decision=decision, by=user.get_username()
        )
        return None

    def review(self, user, decision: str, note: str = "") -> None:
        if decision not in REVIEW_DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}")
        self.review_status = decision
        self.reviewed_by = user
        self.reviewed_at = timezone.now()
        self.review_note = note
        self.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_note"])
        # Audited apart from prompt decisions: triage says whether the event was a real risk and
        # answers nothing (a waiting program is answered by decide_prompt only).
        self.session.change_state(
            "event_review",
            at=self.reviewed_at,
            seq=self.seq,
            review_status=decision,
            by=user.get_username(),
        )
