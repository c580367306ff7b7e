"""The live bus: group names and message shapes shared by the tap, the server and browsers.

See docs/architecture.md ("The live bus"). Everything published here is announced after or
independently of the database; browsers treat the database as the truth and the bus as a hint.
"""

from __future__ import annotations

ALL_GROUP = "st.all"


def group_for_session(session_pk: int) -> str:
    return f"st.session.{int(session_pk)}"


def event_to_dict(event) -> dict:
    """An ExtractionEvent row in the live/API wire shape (identity: session + seq)."""
    return {
        "session": event.session.session_id,
        "seq": event.seq,
        "agent_name": event.agent_name,
        "event_type": event.event_type,
        "rule": event.rule,
        "severity": event.severity,
        "risk_level": event.risk_level,
        "auto_confirmable": event.auto_confirmable,
        "line_start": event.line_start,
        "line_end": event.line_end,
        "content": event.content,
        "context": event.context,
        "metadata": event.metadata,
        "timestamp": event.timestamp.isoformat(),
        "offset_seconds": event.offset_seconds,
        "review_status": event.review_status,
    }


def session_info(session) -> dict:
    return {
        "status": session.status,
        "agent_name": session.agent_name,
        "command_line": session.command_line,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "exit_code": session.exit_code,
        "total_lines_processed": session.total_lines_processed,
        "total_extraction_events": session.total_extraction_events,
        "event_counts": session.event_counts,
    }
