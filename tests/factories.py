"""Plain factory functions for tests: sensible defaults, override what the test is about."""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession, SessionStatus

_numbers = itertools.count(1)


def make_user(username: str, *, staff: bool = False, **fields) -> User:
    return User.objects.create_user(
        username, f"{username}@example.com", "pw", is_staff=staff, **fields
    )


def make_token(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def make_session(
    agent_name: str = "codex",
    *,
    status: str = SessionStatus.COMPLETED,
    exit_code: int | None = 0,
    started_at=None,
    duration: timedelta | None = timedelta(minutes=2),
    **fields,
) -> ProcessSession:
    started_at = started_at or timezone.now() - timedelta(hours=1)
    finished = status not in (SessionStatus.RUNNING, SessionStatus.WAITING_FOR_INPUT)
    session = ProcessSession.objects.create(
        session_id=fields.pop("session_id", f"{agent_name}-20261126-{next(_numbers):06d}"),
        agent_name=agent_name,
        status=status,
        started_at=started_at,
        ended_at=started_at + duration if finished and duration is not None else None,
        exit_code=exit_code if finished else None,
        **fields,
    )
    session.state_changes.create(state=SessionStatus.RUNNING, timestamp=started_at)
    if finished:
        session.state_changes.create(
            state=status,
            timestamp=session.ended_at or started_at,
            metadata={"exit_code": exit_code},
        )
    return session


def make_event(session: ProcessSession, **fields) -> ExtractionEvent:
    seq = fields.pop("seq", None)
    if seq is None:
        seq = (session.events.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    defaults = {
        "agent_name": session.agent_name,
        "event_type": "error",
        "rule": "python_traceback",
        "severity": "error",
        "risk_level": "medium",
        "line_start": seq * 10,
        "line_end": seq * 10 + 2,
        "content": "Traceback (most recent call last):\nValueError: boom",
        "timestamp": session.started_at + timedelta(seconds=seq),
        "offset_seconds": float(seq),
    }
    defaults.update(fields)
    return ExtractionEvent.objects.create(session=session, seq=seq, **defaults)


def make_code_block(
    content: str = "print('hello')\n", language: str = "python", **fields
) -> CodeBlock:
    sha256 = hashlib.sha256(content.encode()).hexdigest()
    return CodeBlock.objects.create(sha256=sha256, language=language, content=content, **fields)
