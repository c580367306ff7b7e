"""Deprecated alias (one release): the field value converters live in ``sessions.models``.

The model must not depend on the tap writer's modules; the writers import the converters from
the model's side.
"""

from __future__ import annotations

from sessions.models import (
    as_is,
    converter,
    json_dumps,
    json_dumps_for_postgres,
    sqlite_datetime,
    without_nul,
)

__all__ = [
    "as_is",
    "converter",
    "json_dumps",
    "json_dumps_for_postgres",
    "sqlite_datetime",
    "without_nul",
]
