import pytest
from django.urls import reverse

from extraction.models import ExtractionEvent


def review_url(event_id) -> str:
    return reverse("st-api-extraction-review", args=[event_id])


def post_review(client, event_id, decision: str = "confirmed", **fields):
    """POST a review decision (and any other fields) as JSON."""
    return client.post(review_url(event_id), {"decision": decision, **fields}, format="json")


def test_staff_review_records_decision_reviewer_and_time(reviewer_client, world):
    response = post_review(
        reviewer_client, world.force_push.id, "false_positive", note="a fork, not main"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["review_status"] == "false_positive"
    assert body["reviewed_by"] == "rey"
    assert body["review_note"] == "a fork, not main"
    event = ExtractionEvent.objects.get(pk=world.force_push.id)
    assert event.review_status == "false_positive"
    assert event.reviewed_at is not None


@pytest.mark.parametrize(
    ("who", "status", "review_status"),
    [
        # Staff, without a note: the note is optional.
        ("reviewer_client", 200, "confirmed"),
        # Not staff: refused, and the event stays pending.
        ("owner_client", 403, "pending"),
        ("outsider_client", 401, "pending"),
    ],
)
def test_who_may_review(request, world, who, status, review_status):
    response = post_review(request.getfixturevalue(who), world.force_push.id)
    assert response.status_code == status
    assert ExtractionEvent.objects.get(pk=world.force_push.id).review_status == review_status


def test_unknown_decision_is_a_400_listing_the_decisions(reviewer_client, world):
    response = post_review(reviewer_client, world.force_push.id, "pending")
    assert response.status_code == 400
    [message] = response.json()["errors"]["decision"]
    assert "must be one of confirmed, rejected, false_positive" in message


def test_body_that_is_not_json_is_a_400(reviewer_client, world):
    response = reviewer_client.post(
        review_url(world.force_push.id), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_unknown_event_is_a_404(reviewer_client, world):
    for event_id in [999999, "abc", "-1", str(2**70)]:
        response = post_review(reviewer_client, event_id)
        assert response.status_code == 404, event_id
        assert response["Content-Type"] == "application/json"


def test_get_is_not_allowed(reviewer_client, world):
    assert reviewer_client.get(review_url(world.force_push.id)).status_code == 405
