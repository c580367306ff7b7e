"""The extractor engine: plain Python (no Django), text in, events out.

Used live by `tap`, over files by `extract`, and over recordings by `recover`/`import_cast`.
"""

from .events import Event
from .extractor import Extractor
from .redact import StreamRedactor, redact
from .risk import (
    DESTRUCTIVE_PATTERNS,
    LOW_PATTERNS,
    MEDIUM_PATTERNS,
    CommandPolicy,
    risk_for_command,
)
from .rules import Rule, RulesError, RuleSet, load_rules

__all__ = [
    "DESTRUCTIVE_PATTERNS",
    "LOW_PATTERNS",
    "MEDIUM_PATTERNS",
    "CommandPolicy",
    "Event",
    "Extractor",
    "Rule",
    "RuleSet",
    "RulesError",
    "StreamRedactor",
    "load_rules",
    "redact",
    "risk_for_command",
]
