"""The extractor engine: plain Python (no Django), text in, events out.

Used live by `tap`, over files by `extract`, and over recordings by `recover`/`import_cast`,
all through one ``Pipeline`` (pipeline.py): the same bytes give the same events on every path
(tests/extraction/test_pipeline_equality.py).

One job per module:

    pipeline.py       chunks → numbered rows: redaction, agent streams, rules, screen, idle points
    redact.py         secrets out of the stream (StreamRedactor holds a possible start back)
    agent_streams.py  `codex exec --json` / `claude -p --output-format stream-json` lines → events
    extractor.py      the rules over lines: blocks (tracebacks, fences), metrics, line prompts
    rules.py          the built-in rules and the RuleSet;  rules_toml.py  user rules from TOML
    hyperscan_db.py   compiled hyperscan databases, cached on disk (rules and redaction use them)
    screen/           a pyte screen and the prompts drawn on it, one module per agent (registry.py)
    prompts.py, risk.py, blocks.py, log_formats.py, text.py, fingerprint.py   what those use
    transcripts.py, hook_events.py   an agent's transcript lines and hook calls → events
"""

# The light names are imported here; the rest load on first use (PEP 562). The agent hook client
# runs as `python -S` without site-packages and imports only `hook_events` (risk, redaction):
# importing the pipeline here would pull in pyte, fail there, and make a dead tap deny even a
# harmless Read. `redact` must be bound here, not lazily: importing the submodule
# `extraction.engine.redact` would otherwise leave the module under that name, not the function.
from .events import Event
from .redact import StreamRedactor, redact
from .risk import (
    DESTRUCTIVE_PATTERNS,
    LOW_PATTERNS,
    MEDIUM_PATTERNS,
    CommandPolicy,
    risk_for_command,
)

_EXPORTS = {
    "Extractor": ".extractor",
    "IDLE_SECONDS": ".pipeline",
    "Pipeline": ".pipeline",
    "SETTLE_SECONDS": ".pipeline",
    "replay_recording": ".pipeline",
    "Rule": ".rules",
    "RulesError": ".rules",
    "RuleSet": ".rules",
    "load_rules": ".rules_toml",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DESTRUCTIVE_PATTERNS",
    "LOW_PATTERNS",
    "MEDIUM_PATTERNS",
    "CommandPolicy",
    "Event",
    "Extractor",
    "IDLE_SECONDS",
    "Pipeline",
    "SETTLE_SECONDS",
    "Rule",
    "RuleSet",
    "RulesError",
    "StreamRedactor",
    "load_rules",
    "redact",
    "replay_recording",
    "risk_for_command",
]
