"""The admin: event changelists, the high-risk review queue, rule precision, sessions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from extraction.models import ExtractionEvent
from tests.factories import make_event, make_session

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
QUEUE = reverse("admin:extraction_highriskevent_changelist")


@pytest.fixture
def queue(db):
    """High-risk events of several ages and states, and one medium-risk event."""
    session = make_session("codex", started_at=T0)
    at = {n: T0 + timedelta(minutes=n) for n in range(10)}
    return {
        "old_done": make_event(session, risk_level="high", timestamp=at[1],
                               review_status="confirmed"),
        "old_pending": make_event(session, risk_level="high", timestamp=at[2]),
        "new_pending": make_event(session, risk_level="high", timestamp=at[5]),
        "medium": make_event(session, risk_level="medium", timestamp=at[0]),
        "new_done": make_event(session, risk_level="high", timestamp=at[3],
                               review_status="false_positive"),
    }  # fmt: skip


def changelist_ids(response) -> list[int]:
    return [event.pk for event in response.context["cl"].result_list]


def test_event_changelist_lists_filters_and_searches(reviewer_browser, queue):
    url = reverse("admin:extraction_extractionevent_changelist")
    assert len(changelist_ids(reviewer_browser.get(url))) == 5
    filtered = reviewer_browser.get(url, {"risk_level__exact": "medium"})
    assert changelist_ids(filtered) == [queue["medium"].pk]
    searched = reviewer_browser.get(url, {"q": queue["medium"].session.session_id})
    assert len(changelist_ids(searched)) == 5


def test_review_queue_is_pending_high_risk_first_oldest_first(reviewer_browser, queue):
    ids = changelist_ids(reviewer_browser.get(QUEUE))
    assert ids == [
        queue[name].pk for name in ["old_pending", "new_pending", "old_done", "new_done"]
    ]


@pytest.mark.parametrize("action,decision", [
    ("mark_confirmed", "confirmed"),
    ("mark_rejected", "rejected"),
    ("mark_false_positive", "false_positive"),
])  # fmt: skip
def test_bulk_review_records_decision_reviewer_and_time(
    reviewer_browser, reviewer, queue, action, decision
):
    chosen = [queue["old_pending"].pk, queue["new_pending"].pk]
    response = reviewer_browser.post(QUEUE, {"action": action, "_selected_action": chosen})
    assert response.status_code == 302
    for event in ExtractionEvent.objects.filter(pk__in=chosen):
        assert event.review_status == decision
        assert event.reviewed_by == reviewer
        assert event.reviewed_at is not None


def test_bulk_review_needs_change_permission(client, owner, queue):
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    response = client.post(
        QUEUE, {"action": "mark_confirmed", "_selected_action": [queue["old_pending"].pk]}
    )
    assert response.status_code == 403
    assert ExtractionEvent.objects.get(pk=queue["old_pending"].pk).review_status == "pending"


def test_event_content_is_read_only_and_review_fields_editable(reviewer_browser, queue):
    event = queue["old_pending"]
    url = reverse("admin:extraction_extractionevent_change", args=[event.pk])
    form = reviewer_browser.get(url).context["adminform"].form
    assert set(form.fields) == {"review_status", "review_note"}
    response = reviewer_browser.post(
        url, {"review_status": "confirmed", "review_note": "checked", "content": "tampered"}
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.review_status == "confirmed"
    assert event.reviewed_at is not None
    assert event.content != "tampered"
    # Triage is audited on its own, and is no prompt decision.
    (audit,) = event.session.state_changes.filter(state="event_review")
    assert audit.metadata == {"seq": event.seq, "review_status": "confirmed", "by": "rey"}
    assert event.prompt_decision is None


def test_rule_precision_column_and_page_flag_bad_rules(reviewer_browser, reviewer, db, settings):
    settings.STREAMTAP = {**settings.STREAMTAP, "PRECISION_THRESHOLD": 0.5}
    session = make_session("codex")
    for _ in range(5):
        make_event(session, rule="noisy", risk_level="high").review(reviewer, "false_positive")
    make_event(session, rule="noisy", risk_level="high")
    html = reviewer_browser.get(QUEUE).content.decode()
    assert "⚑ 0% of 5" in html
    page = reviewer_browser.get(reverse("admin:extraction_rule_precision"))
    assert page.status_code == 200
    assert "⚑ flagged" in page.content.decode()


def test_session_admin_shows_state_changes_inline_and_links_to_its_page(reviewer_browser, db):
    session = make_session("codex", status="failed", exit_code=2)
    url = reverse("admin:tapsessions_processsession_change", args=[session.pk])
    response = reviewer_browser.get(url)
    html = response.content.decode()
    [inline] = response.context["inline_admin_formsets"]
    assert len(inline.formset.queryset) == 2
    assert session.get_absolute_url() in html


def test_all_four_tables_are_in_the_admin(reviewer_browser, db):
    for name in [
        "extraction_extractionevent",
        "extraction_codeblock",
        "extraction_highriskevent",
        "tapsessions_processsession",
        "tapsessions_processstatechange",
    ]:
        assert reviewer_browser.get(reverse(f"admin:{name}_changelist")).status_code == 200


@pytest.mark.parametrize(
    ("content", "summary"),
    [
        ("ERROR: disk full\n  at write()", "ERROR: disk full"),
        (
            "Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'",
            "KeyError: 'x'",
        ),
        (
            "npm ERR! code E404\nnpm ERR! 404 Not Found - lodashx",
            "npm ERR! 404 Not Found - lodashx",
        ),
        ("", ""),
        ("x" * 300, "x" * 119 + "…"),
    ],
)
def test_the_review_queue_previews_the_line_that_tells_events_apart(content, summary):
    from extraction.admin import content_summary

    assert content_summary(content) == summary


def test_the_review_queue_shows_content_and_decision_before_the_rest(reviewer_browser, queue):
    response = reviewer_browser.get(QUEUE)
    columns = list(response.context["cl"].list_display)
    assert columns.index("content_preview") < columns.index("session_link")
    assert columns.index("review_status") < columns.index("session_link")


def test_event_titles_say_what_the_event_is(queue):
    event = queue["old_pending"]
    assert str(event).startswith(f"{event.event_type} #{event.seq} ({event.rule}) at 2026-11-20")
