"""Proxy models that give the admin a second view of the events table."""

from __future__ import annotations

from .events import ExtractionEvent


class HighRiskEvent(ExtractionEvent):
    """The high-risk review queue: a changelist of its own, with its own permissions."""

    class Meta:
        proxy = True
        app_label = "extraction"
        verbose_name = "high-risk event"
        verbose_name_plural = "high-risk review queue"
