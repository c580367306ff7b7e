"""Error answers read the same whichever endpoint gives them.

- a bad request parameter is a 400 `{"errors": {parameter: [message, ...]}}`, as the schema's
  ParameterErrors says;
- anything that is not there is a 404 `{"detail": "Not found."}`, whatever kind of object it is
  and however it was looked for.
"""

import pytest
from django.urls import reverse

NOT_FOUND = {"detail": "Not found."}


@pytest.mark.parametrize(
    ("url_name", "args"),
    [
        ("st-api-session-detail", ["nope"]),
        ("st-api-session-events", ["nope"]),
        ("st-api-code-block-detail", ["0" * 64]),
        ("st-api-agent-stats", ["nobody"]),
        ("st-api-replay", ["nope"]),
        ("st-api-replay-index", ["nope"]),
        ("st-api-replay-range", ["nope"]),
        ("st-api-session-recording", ["nope"]),
    ],
)
def test_a_missing_object_is_a_404_in_one_wording(owner_client, world, url_name, args):
    params = {"start": 0} if url_name == "st-api-replay-range" else {}
    response = owner_client.get(reverse(url_name, args=args), params)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("event_id", ["999999", "-1", "x", str(2**64)])
def test_a_missing_event_to_review_is_the_same_404(reviewer_client, world, event_id):
    url = reverse("st-api-extraction-review", args=[event_id])
    response = reviewer_client.post(url, {"decision": "confirmed"}, format="json")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_session_without_a_recording_says_so(owner_client, world):
    # Not a wrong id: the session is there, its recording is not.
    url = reverse("st-api-replay-index", args=[world.codex.session_id])
    response = owner_client.get(url)
    assert response.status_code == 404
    assert response.json() == {"detail": "no recording for this session"}


def test_an_unreadable_recording_does_not_show_the_server_path(owner_client, world, tmp_path):
    path = tmp_path / "broken.cast"
    path.write_text("not a recording\n")
    world.codex.recording_path = str(path)
    world.codex.save(update_fields=["recording_path"])
    response = owner_client.get(reverse("st-api-replay-index", args=[world.codex.session_id]))
    assert response.status_code == 404
    assert str(tmp_path) not in response.content.decode()
    assert response.json() == {"detail": "the recording of this session cannot be read"}


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (reverse("st-api-query-extractions"), {"limit": "x"}),
        (reverse("st-api-query-extractions"), {"cursor": "[]"}),
        (reverse("st-api-query-sessions"), {"days": "abc"}),
        (reverse("st-api-code-blocks"), {"language": "x" * 100}),
        (reverse("st-api-agent-stats", args=["codex"]), {"days": "abc"}),
        (reverse("st-api-session-detail", args=["codex-20261120-100000"]), {"days": "abc"}),
    ],
)
def test_every_bad_parameter_is_a_400_in_the_errors_shape(owner_client, world, url, params):
    response = owner_client.get(url, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["errors"]
    assert set(body["errors"]) == set(params)
    assert all(isinstance(m, str) for messages in body["errors"].values() for m in messages)
