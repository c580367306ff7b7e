"""A small world for the API tests: two agents' sessions and a handful of events."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession
from tests.factories import make_code_block, make_event, make_session

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


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
    force_push = make_event(
        codex,
        event_type="warning",
        rule="dangerous_command",
        severity="critical",
        risk_level="high",
        content="$ git push --force origin main",
        timestamp=T0 + timedelta(minutes=2),
    )
    rm_prompt = make_event(
        codex,
        event_type="prompt",
        rule="prompt_file",
        severity="warning",
        risk_level="high",
        content="rm: remove write-protected regular file 'db.lock'?",
        timestamp=T0 + timedelta(minutes=3),
    )
    rm_prompt.review(reviewer, "confirmed", "really destructive")
    metric = make_event(
        claude,
        event_type="metric",
        rule="pytest_summary",
        severity="info",
        risk_level="low",
        content="===== 12 passed in 0.40s =====",
        timestamp=T0 + timedelta(days=1, minutes=1),
    )
    code = make_event(
        claude,
        event_type="code_block",
        rule="code_fence",
        severity="info",
        risk_level="low",
        content=block.content,
        code_block=block,
        timestamp=T0 + timedelta(days=1, minutes=2),
    )
    return World(codex, claude, traceback, force_push, metric, code, rm_prompt, block)
