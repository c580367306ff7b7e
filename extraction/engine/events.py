"""The event record the engine produces."""

from __future__ import annotations

from dataclasses import dataclass, field

EVENT_TYPES = ("error", "warning", "metric", "code_block", "prompt")
SEVERITIES = ("info", "warning", "error", "critical")
RISK_LEVELS = ("low", "medium", "high")


@dataclass(slots=True)
class Event:
    event_type: str
    rule: str
    severity: str
    risk_level: str
    auto_confirmable: bool
    line_start: int
    line_end: int
    content: str
    context: str = ""
    metadata: dict = field(default_factory=dict)
