"""The extractor engine: plain Python (no Django), text in, events out.

Used live by `tap`, over files by `extract`, and over recordings by `recover`/`import_cast`,
all through one ``Pipeline`` (pipeline.py): the same bytes give the same events on every path.
"""

from .events import Event
from .extractor import Extractor
from .pipeline import IDLE_SECONDS, Pipeline, replay_recording
from .redact import StreamRedactor, redact
from .risk import (
    DESTRUCTIVE_PATTERNS,
    LOW_PATTERNS,
    MEDIUM_PATTERNS,
    CommandPolicy,
    risk_for_command,
)
from .rules import Rule, RulesError, RuleSet
from .rules_toml import load_rules

__all__ = [
    "DESTRUCTIVE_PATTERNS",
    "LOW_PATTERNS",
    "MEDIUM_PATTERNS",
    "CommandPolicy",
    "Event",
    "Extractor",
    "IDLE_SECONDS",
    "Pipeline",
    "Rule",
    "RuleSet",
    "RulesError",
    "StreamRedactor",
    "load_rules",
    "redact",
    "replay_recording",
    "risk_for_command",
]
