"""The admin's review queue of problems: one item per group, decisions settle its events."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from extraction.models import ErrorGroup, ExtractionEvent
from extraction.queries import rule_outcomes
from tests.extraction.group_factories import error_rows, insert
from tests.factories import make_event, make_session

QUEUE = reverse("admin:extraction_errorgroup_changelist")
EVENT_QUEUE = reverse("admin:extraction_highriskevent_changelist")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def retry_loop(db):
    session = make_session("codex", started_at=T0)
    insert(session, error_rows(44, T0, message="ERROR attempt {i}: connection refused"))
    prompt = make_event(session, seq=1000, event_type="prompt", risk_level="high")
    return session, prompt


def test_44_occurrences_of_one_problem_are_one_item_in_the_queue(reviewer_browser, retry_loop):
    _, prompt = retry_loop
    groups = reviewer_browser.get(QUEUE).context["cl"].result_list
    assert [(g.title, g.count) for g in groups] == [("ERROR attempt 0: connection refused", 44)]
    # The event queue keeps what is decided one by one (the prompt), not the grouped errors.
    events = reviewer_browser.get(EVENT_QUEUE).context["cl"].result_list
    assert [e.pk for e in events] == [prompt.pk]


@pytest.mark.parametrize(
    "action,group_status,event_status",
    [
        ("mark_confirmed", "confirmed", "confirmed"),
        ("mark_false_positive", "false_positive", "false_positive"),
        ("mark_resolved", "resolved", "confirmed"),
    ],
)
def test_a_decision_on_a_group_settles_its_pending_events(
    reviewer_browser, reviewer, retry_loop, action, group_status, event_status
):
    _, prompt = retry_loop
    group = ErrorGroup.objects.get()
    response = reviewer_browser.post(
        QUEUE, {"action": action, "_selected_action": [group.pk]}, follow=True
    )
    assert "44 pending event(s) settled" in response.content.decode()
    group.refresh_from_db()
    assert (group.review_status, group.reviewed_by) == (group_status, reviewer)
    statuses = set(group.events.values_list("review_status", flat=True))
    assert statuses == {event_status}
    # A prompt is decided on its own, never by a group.
    assert ExtractionEvent.objects.get(pk=prompt.pk).review_status == "pending"


def test_precision_per_rule_counts_the_settled_events(reviewer_browser, retry_loop):
    group = ErrorGroup.objects.get()
    reviewer_browser.post(QUEUE, {"action": "mark_false_positive", "_selected_action": [group.pk]})
    row = rule_outcomes()["log_error"]
    assert (row["false_positive"], row["precision"]) == (44, 0.0)


def test_a_decision_made_in_the_groups_form_settles_its_events_too(reviewer_browser, retry_loop):
    group = ErrorGroup.objects.get()
    url = reverse("admin:extraction_errorgroup_change", args=[group.pk])
    assert reviewer_browser.get(url).status_code == 200
    response = reviewer_browser.post(
        url, {"review_status": "false_positive", "review_note": "noise"}
    )
    assert response.status_code == 302
    assert set(group.events.values_list("review_status", flat=True)) == {"false_positive"}
