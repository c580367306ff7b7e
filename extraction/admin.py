"""Admin for events and code blocks, the high-risk review queue, and rule precision.

What an agent printed is evidence: the admin shows it but never lets anyone edit it. Staff
change only the review fields, and every review records who decided and when.
"""

from __future__ import annotations

import threading

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from . import event_shape, queries
from .engine.fingerprint import preview
from .models import CodeBlock, ErrorGroup, ExtractionEvent, GroupStatus, ReviewStatus, RiskLevel
from .proxies import HighRiskEvent

# Precision per rule is one GROUP BY over the whole table: compute it once per changelist
# page, not once per row. Thread-local because one ModelAdmin serves concurrent requests.
_per_request = threading.local()


def _rule_outcomes() -> dict[str, dict]:
    outcomes = getattr(_per_request, "rule_outcomes", None)
    if outcomes is None:
        outcomes = _per_request.rule_outcomes = queries.rule_outcomes()
    return outcomes


REVIEW_FIELDS = ["review_status", "review_note", "reviewed_by", "reviewed_at"]
# What was found, where and when (the EVENT shape, extraction/event_shape.py), and its code block.
EVENT_FIELDS = [*(f for f in event_shape.EVENT_FIELDS if f not in REVIEW_FIELDS), "code_block"]
# A prompt's answer (approve/deny the action) is shown, never edited here: only the session
# page's Approve/Deny and the decision API answer a program; triage above answers nothing.
PROMPT_DECISION_FIELDS = [
    "prompt_decision",
    "prompt_decision_by",
    "prompt_decided_by",
    "prompt_decided_at",
]


def pending_first(*order: str) -> list:
    """An admin ordering: what waits for review first (a queue), then `order`. Events and
    groups both spell it "pending"."""
    pending = Case(
        When(review_status=ReviewStatus.PENDING, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return [pending.asc(), *order]


def review_action(decision: str, description: str):
    """The admin action `mark_<decision>`: the model admin's `_review` of the selected rows."""

    @admin.action(description=description, permissions=["change"])
    def action(modeladmin, request, queryset):
        modeladmin._review(request, queryset, decision)

    action.__name__ = action.__qualname__ = f"mark_{decision}"
    return action


class ExtractionEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "timestamp",
        "agent_name",
        "session_link",
        "event_type",
        "severity",
        "risk_level",
        "rule",
        "rule_precision",
        "review_status",
        "prompt_decision",
        "reviewed_by",
    ]
    list_filter = [
        "event_type",
        "risk_level",
        "review_status",
        "severity",
        "agent_name",
        ("timestamp", admin.DateFieldListFilter),
    ]
    search_fields = ["content", "rule", "agent_name", "session__session_id"]
    list_select_related = ["session", "reviewed_by"]
    # A million rows: no second COUNT(*) for "x of y selected".
    show_full_result_count = False
    list_per_page = 50
    fieldsets = [
        (None, {"fields": EVENT_FIELDS}),
        ("Review", {"fields": REVIEW_FIELDS}),
        ("Prompt decision", {"fields": PROMPT_DECISION_FIELDS}),
    ]
    readonly_fields = [*EVENT_FIELDS, "reviewed_by", "reviewed_at", *PROMPT_DECISION_FIELDS]
    actions = ["mark_confirmed", "mark_rejected", "mark_false_positive"]

    def has_add_permission(self, request) -> bool:
        # Events come from the extractor only.
        return False

    def changelist_view(self, request, extra_context=None):
        _per_request.rule_outcomes = None
        return super().changelist_view(request, extra_context)

    @admin.display(description="session", ordering="session__session_id")
    def session_link(self, event: ExtractionEvent) -> str:
        return format_html(
            '<a href="{}">{}</a>', event.session.get_absolute_url(), event.session.session_id
        )

    @admin.display(description="rule precision")
    def rule_precision(self, event: ExtractionEvent) -> str:
        outcome = _rule_outcomes().get(event.rule)
        if not outcome or outcome["precision"] is None:
            return "–"
        text = f"{outcome['precision']:.0%} of {outcome['judged']}"
        if outcome["flagged"]:
            return format_html('<strong title="below the precision threshold">⚑ {}</strong>', text)
        return text

    def save_model(self, request, obj: ExtractionEvent, form, change):
        # A review made in the form records its reviewer and time like any other.
        if change and {"review_status", "review_note"} & set(form.changed_data):
            if obj.review_status == ReviewStatus.PENDING:
                obj.reviewed_by, obj.reviewed_at = None, None
            else:
                obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)
        if change and "review_status" in form.changed_data:
            audit_reviews(
                [(obj.pk, obj.session_id, obj.seq)],
                obj.review_status,
                request.user.get_username(),
                obj.reviewed_at or timezone.now(),
            )

    def _review(self, request, queryset, decision: str) -> None:
        now = timezone.now()
        events = list(queryset.order_by().values_list("pk", "session_id", "seq"))
        count = queryset.order_by().update(
            review_status=decision, reviewed_by=request.user, reviewed_at=now
        )
        audit_reviews(events, decision, request.user.get_username(), now)
        self.message_user(
            request,
            f"{count} event(s) marked {decision.replace('_', ' ')}. Triage answers no prompt: "
            "a waiting program is approved or denied from its session page.",
            messages.SUCCESS,
        )

    mark_confirmed = review_action(ReviewStatus.CONFIRMED, "Confirm selected events")
    mark_rejected = review_action(ReviewStatus.REJECTED, "Reject selected events")
    mark_false_positive = review_action(
        ReviewStatus.FALSE_POSITIVE, "Mark selected events as false positives"
    )

    def get_urls(self):
        view = self.admin_site.admin_view(self.rule_precision_view)
        return [
            path("rule-precision/", view, name="extraction_rule_precision"),
            *super().get_urls(),
        ]

    def rule_precision_view(self, request):
        """Every rule's review outcome and precision; flagged rules need fixing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        template = engines["django"].from_string(RULE_PRECISION_TEMPLATE)
        context = {
            **self.admin_site.each_context(request),
            "title": "Rule precision",
            "rules": queries.rule_outcomes().values(),
            "threshold": queries.precision_threshold(),
            "min_judged": queries.MIN_JUDGED_FOR_FLAG,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, template, context)


# Kept here, not in templates/, because it is the only page of its kind and a dozen lines.
RULE_PRECISION_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block content %}
<p>Precision = confirmed / (confirmed + false positive). A rule is flagged ⚑ when it is below
{{ threshold|floatformat:2 }} with at least {{ min_judged }} judged events.</p>
<table id="rule-precision">
<thead><tr><th>rule</th><th>events</th><th>pending</th><th>confirmed</th><th>rejected</th>
<th>false positive</th><th>precision</th><th></th></tr></thead>
<tbody>
{% for r in rules %}<tr class="{% if r.flagged %}flagged{% endif %}">
<td>{{ r.rule }}</td><td>{{ r.total }}</td><td>{{ r.pending }}</td><td>{{ r.confirmed }}</td>
<td>{{ r.rejected }}</td><td>{{ r.false_positive }}</td>
<td>{% if r.precision is None %}–{% else %}{{ r.precision|floatformat:2 }}{% endif %}</td>
<td>{% if r.flagged %}<strong>⚑ flagged</strong>{% endif %}</td></tr>
{% endfor %}
</tbody></table>
{% endblock %}
"""


def audit_reviews(events: list[tuple[int, int, int]], decision: str, by: str, at) -> None:
    """One "event_review" state change per reviewed event, as a single review records."""
    from sessions.models import ProcessStateChange

    ProcessStateChange.objects.bulk_create(
        ProcessStateChange(
            session_id=session_id,
            state="event_review",
            timestamp=at,
            metadata={"seq": seq, "review_status": decision, "by": by},
        )
        for _, session_id, seq in events
    )


class HighRiskEventAdmin(ExtractionEventAdmin):
    """Pending high-risk events first, oldest first: what a reviewer works through."""

    # What a reviewer decides on comes first: on a laptop screen the last columns scroll away.
    list_display = [
        "timestamp",
        "content_preview",
        "review_status",
        "prompt_decision",
        "rule",
        "session_link",
        "rule_precision",
        "reviewed_by",
    ]
    list_filter = ["review_status", "agent_name", "rule", ("timestamp", admin.DateFieldListFilter)]
    # The high-risk rows come from the partial ee_high_risk_time index (risk_level = high).
    ordering = pending_first("timestamp", "id")

    def get_queryset(self, request):
        # An error or warning is reviewed with its group (the groups' queue below): 44
        # occurrences of one problem are one review item, not 44.
        return super().get_queryset(request).filter(risk_level=RiskLevel.HIGH, group__isnull=True)

    def get_urls(self):
        return admin.ModelAdmin.get_urls(self)

    def changelist_view(self, request, extra_context=None):
        _per_request.rule_outcomes = None
        return admin.ModelAdmin.changelist_view(self, request, extra_context)

    @admin.display(description="content")
    def content_preview(self, event: ExtractionEvent) -> str:
        return preview(event.content, event.metadata)


@admin.register(CodeBlock)
class CodeBlockAdmin(admin.ModelAdmin):
    list_display = ["short_sha", "language", "occurrences", "first_seen", "last_seen"]
    list_filter = ["language"]
    search_fields = ["sha256", "content"]
    readonly_fields = ["sha256", "language", "content", "first_seen", "last_seen", "occurrences"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="sha256", ordering="sha256")
    def short_sha(self, block: CodeBlock) -> str:
        return block.sha256[:12]


admin.site.register(ExtractionEvent, ExtractionEventAdmin)
admin.site.register(HighRiskEvent, HighRiskEventAdmin)


@admin.register(ErrorGroup)
class ErrorGroupAdmin(admin.ModelAdmin):
    """The review queue of problems: pending first, the longest waiting first.

    A decision settles the group's pending events (per-rule precision counts them); a false
    positive stays settled when the problem happens again, a resolved one reopens.
    """

    list_display = [
        "title",
        "review_status",
        "count",
        "session_count",
        "first_seen",
        "last_seen",
        "rule",
        "risk_level",
        "regressed_at",
        "reviewed_by",
    ]
    list_filter = ["review_status", "risk_level", "event_type", "rule"]
    search_fields = ["title", "rule", "fingerprint"]
    list_select_related = ["reviewed_by"]
    show_full_result_count = False
    ordering = pending_first("first_seen", "id")
    readonly_fields = [
        f.name for f in ErrorGroup._meta.fields if f.name not in ("review_status", "review_note")
    ]
    actions = ["mark_confirmed", "mark_false_positive", "mark_resolved"]

    def has_add_permission(self, request) -> bool:
        return False  # groups come from the writer only

    def save_model(self, request, obj: ErrorGroup, form, change):
        # A decision made in the form settles the events as the actions do.
        if change and "review_status" in form.changed_data and obj.review_status != "pending":
            obj.review(request.user, obj.review_status, obj.review_note)
        else:
            super().save_model(request, obj, form, change)

    def _review(self, request, queryset, decision: str) -> None:
        events = sum(group.review(request.user, decision) for group in queryset)
        self.message_user(
            request,
            f"{queryset.count()} group(s) marked {decision.replace('_', ' ')}; "
            f"{events} pending event(s) settled.",
            messages.SUCCESS,
        )

    mark_confirmed = review_action(GroupStatus.CONFIRMED, "Confirm selected problems")
    mark_false_positive = review_action(
        GroupStatus.FALSE_POSITIVE, "Mark selected problems as false positives"
    )
    mark_resolved = review_action(GroupStatus.RESOLVED, "Resolve selected problems")


def content_summary(content: str, limit: int = 120) -> str:
    """One line that tells this event from the others: the first, or a traceback's exception."""
    return preview(content, limit=limit)
