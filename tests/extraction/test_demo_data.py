from django.core.management import call_command

from extraction.models import ExtractionEvent
from sessions.models import ProcessSession


def test_demo_data_generates_sessions_and_numbered_events(db):
    call_command("generate_demo_data", "--events", "2000", "--sessions", "10",
                 "--agents", "codex", "claude", "--code-blocks", "20")  # fmt: skip
    assert ProcessSession.objects.count() == 10
    assert ExtractionEvent.objects.count() == 2000
    assert set(ExtractionEvent.objects.values_list("agent_name", flat=True)) <= {"codex", "claude"}
    session = ProcessSession.objects.filter(total_extraction_events__gt=0).first()
    events = list(session.events.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert session.total_extraction_events == len(events)
    assert ExtractionEvent.objects.filter(risk_level="high").exists()
    assert ExtractionEvent.objects.filter(code_block__isnull=False).exists()


def test_demo_data_includes_reviews_for_rule_precision(db):
    call_command("generate_demo_data", "--events", "3000", "--sessions", "20")
    reviewed = ExtractionEvent.objects.exclude(review_status="pending")
    assert reviewed.exists()
    assert not reviewed.filter(reviewed_by__isnull=True).exists()
