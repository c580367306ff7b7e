"""The extraction app's models, where Django looks for them.

One module per concept, each importing only the ones before it (never this package):
``events`` (events, code blocks, their choices) ← ``groups`` (error groups) ← ``proxies`` (the
admin's second views of the events table). ``extraction.groups`` (the writer's side of groups)
and ``extraction.proxies`` (a deprecated alias) import from here, never the other way.
"""

from __future__ import annotations

from .events import (
    FILTER_COLUMNS,
    PROMPT_ANSWERS,
    REVIEW_DECISIONS,
    CodeBlock,
    EventType,
    ExtractionEvent,
    ExtractionEventQuerySet,
    PromptDecision,
    ReviewStatus,
    RiskLevel,
    Severity,
    decide_passed_prompt,
)
from .groups import (
    EVENT_STATUS_FOR_GROUP,
    ErrorGroup,
    ErrorGroupQuerySet,
    ErrorGroupSession,
    GroupStatus,
)
from .proxies import HighRiskEvent

__all__ = [
    "EVENT_STATUS_FOR_GROUP",
    "FILTER_COLUMNS",
    "PROMPT_ANSWERS",
    "REVIEW_DECISIONS",
    "CodeBlock",
    "ErrorGroup",
    "ErrorGroupQuerySet",
    "ErrorGroupSession",
    "EventType",
    "ExtractionEvent",
    "ExtractionEventQuerySet",
    "GroupStatus",
    "HighRiskEvent",
    "PromptDecision",
    "ReviewStatus",
    "RiskLevel",
    "Severity",
    "decide_passed_prompt",
]
