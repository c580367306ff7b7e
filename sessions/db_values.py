"""Field values as the database driver takes them, converted with plain functions.

The tap's writer inserts with ``executemany`` on rows built from the model's ``_meta``; Django's
``get_db_prep_save`` through the connection proxy cost half of its time. Only JSON, datetimes
and (on PostgreSQL, which cannot store NUL) text need converting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache

json_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_dumps_for_postgres(value) -> str:
    return json_dumps(value).replace("\\u0000", "\\ufffd")


def without_nul(value):
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


@lru_cache(maxsize=64)
def sqlite_datetime(value: datetime) -> str:
    """Django's SQLite storage of an aware datetime: naive UTC text (cached: a chunk's events
    share one timestamp)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ")


def as_is(value):
    return value


def converter(field, vendor: str):
    """A plain function that turns a value of ``field`` into the driver's, or None (as is)."""
    kind = field.get_internal_type()
    postgres = vendor == "postgresql"
    if kind == "JSONField":
        if postgres:
            from psycopg.types.json import Jsonb

            return lambda value: Jsonb(value, dumps=json_dumps_for_postgres)
        return json_dumps
    if postgres and kind in ("TextField", "CharField"):
        return without_nul
    if kind == "DateTimeField":
        if vendor == "sqlite":
            return sqlite_datetime
        return None  # psycopg adapts aware datetimes itself
    return None
