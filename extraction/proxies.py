"""Deprecated alias (one release): the proxy models live in ``extraction.models.proxies``."""

from __future__ import annotations

from .models.proxies import HighRiskEvent

__all__ = ["HighRiskEvent"]
