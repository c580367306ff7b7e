from django.urls import reverse

from extraction.queries import MIN_JUDGED_FOR_FLAG
from tests.factories import make_event, make_session


def stats_url(agent: str) -> str:
    return reverse("st-api-agent-stats", args=[agent])


def test_stats_need_authentication(outsider_client, world):
    assert outsider_client.get(stats_url("codex")).status_code == 401


def test_unknown_agent_is_a_404(owner_client, world):
    assert owner_client.get(stats_url("nobody")).status_code == 404


def test_session_figures(owner_client, world):
    make_session("codex", status="completed", exit_code=3)
    make_session("codex", status="running")
    sessions = owner_client.get(stats_url("codex")).json()["sessions"]
    assert sessions["total"] == 3
    assert sessions["finished"] == 2
    assert sessions["succeeded"] == 1
    assert sessions["success_rate"] == 0.5
    assert sessions["mean_duration_seconds"] == 120.0
    assert sessions["by_status"] == {"completed": 2, "running": 1}


def test_events_by_type_and_risk_and_top_rules(owner_client, world):
    body = owner_client.get(stats_url("codex")).json()
    assert body["events"]["total"] == 3
    assert body["events"]["by_type"] == {
        "error": 1,
        "warning": 1,
        "metric": 0,
        "code_block": 0,
        "prompt": 1,
    }
    assert body["events"]["by_risk"] == {"low": 0, "medium": 1, "high": 2}
    assert {r["rule"] for r in body["top_rules"]} == {
        "python_traceback",
        "dangerous_command",
        "prompt_file",
    }


def test_review_outcome_and_precision_per_rule(owner_client, world, reviewer):
    for decision in ["confirmed", "false_positive", "false_positive", "rejected"]:
        make_event(world.codex, rule="prompt_file", risk_level="high").review(reviewer, decision)
    rules = {r["rule"]: r for r in owner_client.get(stats_url("codex")).json()["rules"]}
    prompt_file = rules["prompt_file"]
    # The world's own confirmed prompt_file event plus the four above.
    assert prompt_file["confirmed"] == 2
    assert prompt_file["false_positive"] == 2
    assert prompt_file["rejected"] == 1
    assert prompt_file["judged"] == 4
    assert prompt_file["precision"] == 0.5
    assert rules["dangerous_command"]["precision"] is None


def test_rule_below_threshold_is_flagged_once_enough_are_judged(
    owner_client, world, reviewer, settings
):
    settings.STREAMTAP = {**settings.STREAMTAP, "PRECISION_THRESHOLD": 0.5}
    for _ in range(MIN_JUDGED_FOR_FLAG - 1):
        make_event(world.codex, rule="noisy").review(reviewer, "false_positive")
    body = owner_client.get(stats_url("codex")).json()
    noisy = next(r for r in body["rules"] if r["rule"] == "noisy")
    assert noisy["precision"] == 0.0 and noisy["flagged"] is False
    make_event(world.codex, rule="noisy").review(reviewer, "false_positive")
    body = owner_client.get(stats_url("codex")).json()
    noisy = next(r for r in body["rules"] if r["rule"] == "noisy")
    assert noisy["flagged"] is True
    assert body["precision_threshold"] == 0.5
    assert body["min_judged"] == MIN_JUDGED_FOR_FLAG
