"""Deprecated: the pipeline moved into the engine, ``extraction.engine.pipeline``.

This adapter keeps the old constructor (parts built by the caller: ``extractor``, ``redactor``,
``screen``) for one release; new code builds ``extraction.engine.Pipeline`` from its arguments
(rules, redact, agent_streams, screen_size, clock).
"""

from __future__ import annotations

from collections.abc import Callable

from extraction.engine import Event, Extractor, StreamRedactor
from extraction.engine.pipeline import (
    AGENT_DETECT_LINES,
    IDLE_SECONDS,
    MARKER_LABEL_CHARS,
    marker_label,
    replay_recording,
)
from extraction.engine.pipeline import Pipeline as EnginePipeline
from extraction.engine.screen import ScreenAnalyzer

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
        recorder=None,
        on_events: Callable[[list[dict]], None] | None = None,
        on_output: Callable[[int, float, str], None] | None = None,
        on_idle: Callable[[float], list[Event]] | None = None,
        screen: ScreenAnalyzer | None = None,
        agent_streams: bool = True,
    ):
        self._setup(
            extractor=extractor,
            redactor=redactor,
            screen=screen,
            agent_streams=agent_streams,
            agent_name=agent_name,
            started_at=started_at,
            recorder=recorder,
            on_events=on_events,
            on_output=on_output,
            on_idle=on_idle,
        )
