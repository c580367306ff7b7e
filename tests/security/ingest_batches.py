"""A remote tap's batch for POST /api/ingest/batch, as sessions.remote.RemoteWriter builds it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def spec(recording: str = "/home/tap/rec.cast") -> dict:
    return {
        "agent_name": "far-away",
        "argv": ["make"],
        "command_line": "make",
        "cwd": "/home/tap",
        "host": "tap-host",
        "pid": 4242,
        "environment": {},
        "mode": "pipe",
        "term_cols": 80,
        "term_rows": 24,
        "recording_path": recording,
        "started_at": time.time(),
        "tap_pid": 4241,
    }


def event_row(seq: int, **fields) -> dict:
    return {
        "seq": seq,
        "agent_name": "far-away",
        "event_type": "error",
        "rule": "generic_error",
        "severity": "error",
        "risk_level": "medium",
        "auto_confirmable": False,
        "line_start": seq,
        "line_end": seq,
        "content": f"ERROR: number {seq}",
        "context": "",
        "metadata": {},
        "timestamp": datetime.now(tz=UTC).isoformat(),
        "offset_seconds": 0.5,
        **fields,
    }


def batch(*events: dict, **fields) -> dict:
    return {"spec": spec(), "events": list(events), "states": [], "stats": {}, **fields}
