"""A small world for the API tests: two agents' sessions and a handful of events."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession
from tests.factories import make_code_block, make_event, make_session

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY = 24 * 60  # minutes
# What the world's events are, beside the traceback (make_event's default): kind, rule, severity
# and risk.
KINDS = {
    "force_push": ("warning", "dangerous_command", "critical", "high"),
    "rm_prompt": ("prompt", "prompt_file", "warning", "high"),
    "metric": ("metric", "pytest_summary", "info", "low"),
    "code": ("code_block", "code_fence", "info", "low"),
}


@dataclass
class World:
    codex: ProcessSession
    claude: ProcessSession
    traceback: ExtractionEvent
    force_push: ExtractionEvent
    metric: ExtractionEvent
    code: ExtractionEvent
    rm_prompt: ExtractionEvent
    block: CodeBlock


def found(session: ProcessSession, name: str, minutes: int, content: str, **fields):
    """The world's event `name` (its kind from KINDS), `minutes` after T0."""
    kind = dict(zip(("event_type", "rule", "severity", "risk_level"), KINDS[name], strict=True))
    at = T0 + timedelta(minutes=minutes)
    return make_event(session, content=content, timestamp=at, **kind, **fields)


@pytest.fixture
def world(db, reviewer) -> World:
    codex = make_session("codex", session_id="codex-20261120-100000", started_at=T0)
    claude = make_session(
        "claude",
        session_id="claude-20261121-090000",
        status="failed",
        exit_code=1,
        started_at=T0 + timedelta(days=1),
    )
    block = make_code_block("def f():\n    return 42\n", language="python")
    traceback = make_event(codex, timestamp=T0 + timedelta(minutes=1))
    force_push = found(codex, "force_push", 2, "$ git push --force origin main")
    rm_prompt = found(codex, "rm_prompt", 3, "rm: remove write-protected regular file 'db.lock'?")
    rm_prompt.review(reviewer, "confirmed", "really destructive")
    metric = found(claude, "metric", DAY + 1, "===== 12 passed in 0.40s =====")
    code = found(claude, "code", DAY + 2, block.content, code_block=block)
    return World(codex, claude, traceback, force_push, metric, code, rm_prompt, block)
