"""Deprecated: the pipeline moved into the engine, ``extraction.engine.pipeline``.

This adapter keeps the old constructor (parts built by the caller: ``extractor``, ``redactor``,
``screen``) for one release; new code builds ``extraction.engine.Pipeline`` from its arguments
(rules, redact, agent_streams, screen_size, clock).
"""

from __future__ import annotations

from collections.abc import Callable

from extraction.engine import Extractor, StreamRedactor
from extraction.engine.pipeline import (
    AGENT_DETECT_LINES,
    IDLE_SECONDS,
    MARKER_LABEL_CHARS,
    marker_label,
    replay_recording,
)
from extraction.engine.pipeline import Pipeline as EnginePipeline

__all__ = [
    "AGENT_DETECT_LINES",
    "IDLE_SECONDS",
    "MARKER_LABEL_CHARS",
    "Pipeline",
    "marker_label",
    "replay_recording",
]


class Pipeline(EnginePipeline):
    def __init__(
        self,
        *,
        agent_name: str,
        started_at: float,
        extractor: Extractor,
        redactor: StreamRedactor | None = None,
        on_events: Callable[[list[dict]], None] | None = None,
        **rest,
    ):
        """The old constructor: no redactor means none (the engine's default makes one);
        ``rest``: screen, agent_streams, recorder, on_output, on_idle."""
        super().__init__(
            agent_name=agent_name,
            started_at=started_at,
            extractor=extractor,
            redactor=redactor,
            redact=redactor is not None,
            on_events=on_events,
            **rest,
        )
