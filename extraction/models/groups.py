"""Error groups: one row per problem (fingerprint), and the sessions it occurred in.

The writer's side (fingerprinting a batch, the upserts) is ``extraction/groups.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .events import ExtractionEvent, optional_link


class GroupStatus(models.TextChoices):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    RESOLVED = "resolved"


# What a group's review makes of its events' review (a resolved problem was a real one).
EVENT_STATUS_FOR_GROUP = {
    GroupStatus.CONFIRMED: "confirmed",
    GroupStatus.FALSE_POSITIVE: "false_positive",
    GroupStatus.RESOLVED: "confirmed",
}

# The group filters other than the agent's, parameter → lookup (``filtered()`` below).
GROUP_FILTER_LOOKUPS = {
    "session": "sessions__session",
    "type": "event_type",
    "status": "review_status",
    "rule": "rule",
    "since": "last_seen__gte",
    "until": "first_seen__lt",
}


class ErrorGroupQuerySet(models.QuerySet):
    def review_queue(self):
        """High-risk problems waiting for a review, the longest waiting first."""
        return self.filter(risk_level="high", review_status=GroupStatus.PENDING).order_by(
            "first_seen", "id"
        )

    def filtered(self, params: dict):
        """The groups that validated filters (API or Problems page) select.

        `since` keeps groups seen since then (last seen), `until` groups that began before.
        """
        queryset = self
        if params.get("agent"):
            queryset = queryset.filter(
                id__in=ErrorGroupSession.objects.filter(agent_name=params["agent"]).values("group")
            )
        for name, lookup in GROUP_FILTER_LOOKUPS.items():
            if params.get(name):
                queryset = queryset.filter(**{lookup: params[name]})
        return queryset


class ErrorGroup(models.Model):
    fingerprint = models.CharField(max_length=32, unique=True)
    event_type = models.CharField(max_length=16)
    rule = models.CharField(max_length=100)
    title = models.CharField(max_length=200, help_text="the first occurrence's preview line")
    risk_level = models.CharField(max_length=8, help_text="the highest of its occurrences")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.PositiveBigIntegerField(default=0)
    session_count = models.PositiveIntegerField(default=0)
    # No constraint and nothing done on delete: anything else would make every delete of
    # events (prune's batches) collect and update groups row by row instead of one DELETE.
    # A pruned representative leaves a dangling id, which `representative_event` reads as none.
    representative = optional_link(
        "extraction.ExtractionEvent", "+", on_delete=models.DO_NOTHING, db_constraint=False
    )
    review_status = models.CharField(
        max_length=16, choices=GroupStatus.choices, default=GroupStatus.PENDING
    )
    reviewed_by = optional_link(settings.AUTH_USER_MODEL, "reviewed_groups")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    # Set when a new occurrence reopened a resolved group.
    regressed_at = models.DateTimeField(null=True, blank=True)

    objects = ErrorGroupQuerySet.as_manager()

    class Meta:
        app_label = "extraction"
        db_table = "error_groups"
        ordering = ["-last_seen", "-id"]
        indexes = [
            # Problems page, newest first / most frequent first.
            models.Index(fields=["-last_seen", "-id"], name="eg_last_seen"),
            models.Index(fields=["-count", "-id"], name="eg_count"),
            # Review queue: high risk + pending, oldest first.
            models.Index(fields=["risk_level", "review_status", "first_seen"], name="eg_review"),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("st-group-detail", args=[self.pk])

    @property
    def representative_event(self):
        """The representative, or the latest occurrence when it was pruned (None if none)."""
        event = (
            ExtractionEvent.objects.select_related("session")
            .filter(pk=self.representative_id)
            .first()
            if self.representative_id
            else None
        )
        return event or self.events.select_related("session").order_by("-timestamp").first()

    def review(self, user, decision: str, note: str = "") -> int:
        """Review the problem; its pending occurrences take the outcome. Returns how many."""
        if decision not in (
            GroupStatus.CONFIRMED,
            GroupStatus.FALSE_POSITIVE,
            GroupStatus.RESOLVED,
        ):
            raise ValueError("decision must be confirmed, false_positive or resolved")
        now = timezone.now()
        self.review_status, self.reviewed_by, self.reviewed_at = decision, user, now
        self.review_note = note
        self.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_note"])
        return (
            ExtractionEvent.objects.filter(group=self, review_status="pending")
            .exclude(event_type="prompt")
            .update(
                review_status=EVENT_STATUS_FOR_GROUP[decision],
                reviewed_by=user,
                reviewed_at=now,
                review_note=f"group {decision.replace('_', ' ')}" + (f": {note}" if note else ""),
            )
        )


class ErrorGroupSession(models.Model):
    """A session a group occurred in: the group's session count, and filters by session/agent."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="sessions")
    session = models.ForeignKey(
        "tapsessions.ProcessSession", on_delete=models.CASCADE, related_name="error_groups"
    )
    agent_name = models.CharField(max_length=100)

    class Meta:
        app_label = "extraction"
        db_table = "error_group_sessions"
        constraints = [
            models.UniqueConstraint(fields=["group", "session"], name="egs_group_session_unique")
        ]
        indexes = [
            # Problems page filtered by agent.
            models.Index(fields=["agent_name", "group"], name="egs_agent_group"),
        ]

    def __str__(self) -> str:
        return f"group {self.group_id} in session {self.session_id}"
