"""Error groups: one row per problem (fingerprint), kept up to date where events are written.

A busy machine prints the same few problems hundreds of times. Each error and warning carries its
fingerprint (extraction/engine/fingerprint.py); the group holds when it was first and last seen,
how often, in how many sessions, a representative occurrence and the review of the problem as a
whole. Reviewing a group settles its pending events (per-rule precision still counts events); a
false positive stays settled for new occurrences; a resolved problem that happens again reopens
(a regression, as Sentry calls it).

``GroupWriter`` is the writer's side: one upsert per distinct fingerprint per batch, on SQLite
and PostgreSQL, called only for events not stored before (so re-writing a batch counts nothing
twice). The models themselves (``ErrorGroup``, ``ErrorGroupSession``) are in
``extraction/models/groups.py``; this module imports them, never the other way.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from django.db import connection, transaction

from sessions.models import as_is, converter, execute_rows

from .engine.fingerprint import GROUPED_TYPES, Fingerprints, preview
from .engine.fingerprint import ROW_KEY as FINGERPRINT_KEY
from .models import ExtractionEvent
from .models.groups import (  # noqa: F401  (the models' old home, kept importable one release)
    EVENT_STATUS_FOR_GROUP,
    ErrorGroup,
    ErrorGroupQuerySet,
    ErrorGroupSession,
    GroupStatus,
)

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}
# Fingerprints of recently written messages kept per writer (a few hundred KB at most).
RECENT_FINGERPRINTS = 2_048


class GroupWriter:
    """The groups' side of a batch of new events; see EventInserter.insert.

    ``prepare`` runs before the events are inserted: it fingerprints them, upserts one row per
    distinct fingerprint, and gives each event its group and, for a reviewed group, its review.
    ``link_representatives`` runs after: a group created by this batch points at its first event.
    """

    def __init__(self):
        self.event_table = ExtractionEvent._meta.db_table
        self._fingerprints = Fingerprints(RECENT_FINGERPRINTS)
        # The writer's own datetime conversion (Django's get_db_prep_save costs ~50 µs a value).
        self._prep_datetime = converter(ErrorGroup._meta.get_field("last_seen"), connection.vendor)
        if self._prep_datetime is None:
            self._prep_datetime = as_is
        t = ErrorGroup._meta.db_table
        later = "CASE WHEN excluded.last_seen > {t}.last_seen THEN excluded.last_seen ELSE {t}.last_seen END"
        risk = (
            "CASE WHEN excluded.risk_level = 'high' OR {t}.risk_level = 'high' THEN 'high' "
            "WHEN excluded.risk_level = 'medium' OR {t}.risk_level = 'medium' THEN 'medium' "
            "ELSE {t}.risk_level END"
        )
        # A new occurrence, after the resolution, of a resolved problem reopens it. Occurrences
        # older than the resolution (a recording imported late) do not.
        regressed = f"{t}.review_status = 'resolved' AND excluded.last_seen > {t}.reviewed_at"
        self.upsert_sql = (
            f"INSERT INTO {t} (fingerprint, event_type, rule, title, risk_level, first_seen, "
            "last_seen, count, session_count, review_status, review_note) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, 'pending', '') "
            "ON CONFLICT (fingerprint) DO UPDATE SET "
            f"count = {t}.count + excluded.count, "
            f"last_seen = {later.format(t=t)}, "
            f"first_seen = CASE WHEN excluded.first_seen < {t}.first_seen "
            f"THEN excluded.first_seen ELSE {t}.first_seen END, "
            f"risk_level = {risk.format(t=t)}, "
            f"regressed_at = CASE WHEN {regressed} THEN excluded.last_seen "
            f"ELSE {t}.regressed_at END, "
            f"review_status = CASE WHEN {regressed} THEN 'pending' ELSE {t}.review_status END"
        )
        links = ErrorGroupSession._meta.db_table
        self.lookup_sql = (
            f"SELECT g.id, g.fingerprint, g.review_status, g.representative_id, l.id FROM {t} g "
            f"LEFT JOIN {links} l ON l.group_id = g.id AND l.session_id = %s "
            "WHERE g.fingerprint IN ({})"
        )
        self.link_sql = (
            f"INSERT INTO {links} (group_id, session_id, agent_name) VALUES (%s, %s, %s) "
            "ON CONFLICT (group_id, session_id) DO NOTHING"
        )
        self.count_sessions_sql = (
            f"UPDATE {t} SET session_count = session_count + 1 WHERE id IN ({{}})"
        )
        self.representative_sql = (
            f"UPDATE {t} SET representative_id = (SELECT id FROM {self.event_table} "
            "WHERE session_id = %s AND seq = %s) WHERE id = %s AND representative_id IS NULL"
        )

    def prepare(self, cursor, session_pk: int, rows: list[dict]) -> list[tuple]:
        """Group the new rows (in place); returns what ``link_representatives`` needs."""
        batch: dict[str, dict] = {}
        for row in rows:
            if row["event_type"] not in GROUPED_TYPES:
                row["group_id"] = None
                continue
            fp = self._fingerprint(row)
            row["group_id"] = fp
            group = batch.get(fp)
            ts = row["timestamp"]
            if group is None:
                batch[fp] = {"row": row, "first": ts, "last": ts, "count": 1, "rows": [row]}
                continue
            group["count"] += 1
            group["rows"].append(row)
            group["first"] = min(group["first"], ts)
            group["last"] = max(group["last"], ts)
            if RISK_ORDER.get(row["risk_level"], 2) > RISK_ORDER.get(group["row"]["risk_level"], 2):
                group["row"] = row
        if not batch:
            return []
        prep = self._prep_datetime
        # In fingerprint order: two writers upserting the same groups lock them in the same
        # order, so neither waits for the other in a cycle (a deadlock on PostgreSQL).
        execute_rows(
            cursor,
            self.upsert_sql,
            [
                (
                    fp,
                    g["row"]["event_type"],
                    g["row"]["rule"][:100],
                    # PostgreSQL text cannot hold NUL (the event rows are cleaned the same way).
                    preview(g["row"]["content"], g["row"].get("metadata"), limit=200).replace(
                        "\x00", "\ufffd"
                    ),
                    g["row"]["risk_level"],
                    prep(g["first"]),
                    prep(g["last"]),
                    g["count"],
                )
                for fp, g in sorted(batch.items())
            ],
        )
        cursor.execute(self.lookup_sql.format(", ".join(["%s"] * len(batch))), [session_pk, *batch])
        unlinked, representatives = [], []
        for group_id, fp, status, representative_id, link_id in cursor.fetchall():
            group = batch[fp]
            settled = EVENT_STATUS_FOR_GROUP.get(status)
            if settled is not None:
                for row in group["rows"]:
                    row["review_status"] = settled
                    row["review_note"] = f"group {status.replace('_', ' ')}"
            else:
                # A batch written again after a failure (or from a spill file) may carry the
                # outcome its group had then; rows from taps carry no review of their own.
                for row in group["rows"]:
                    row.pop("review_status", None)
                    row.pop("review_note", None)
            if link_id is None:
                unlinked.append((group_id, session_pk, group["row"]["agent_name"]))
            if representative_id is None:
                representatives.append((session_pk, group["rows"][0]["seq"], group_id))
        if unlinked:
            execute_rows(cursor, self.link_sql, unlinked)
            ids = [group_id for group_id, _, _ in unlinked]
            cursor.execute(self.count_sessions_sql.format(", ".join(["%s"] * len(ids))), ids)
        return representatives

    def _fingerprint(self, row: dict) -> str:
        # Rows from the tap's extraction process come marked (Fingerprints.mark); rows from
        # elsewhere (the ingest API keeps only its declared fields, `recover`, the demo data)
        # are fingerprinted here.
        fp = row.get(FINGERPRINT_KEY)
        if isinstance(fp, str) and len(fp) == 32:
            return fp
        return self._fingerprints.of(row)

    def link_representatives(self, cursor, representatives: list[tuple]) -> None:
        if representatives:
            cursor.executemany(self.representative_sql, representatives)


def group_ungrouped_events(chunk: int = 2_000) -> int:
    """Fingerprint and group the errors and warnings stored without a group; returns how many.

    For events written before groups existed, or by a path that bypasses the writer (the demo
    data generator). Each event is counted once: only events without a fingerprint are read.
    """
    writer = GroupWriter()
    columns = ("id", "session_id", "seq", "agent_name", "event_type", "rule", "risk_level")
    update = f"UPDATE {writer.event_table} SET fingerprint = %s WHERE id = %s"
    done, last_id = 0, 0
    while True:
        rows = list(
            ExtractionEvent.objects.filter(
                id__gt=last_id, group__isnull=True, event_type__in=GROUPED_TYPES
            )
            .order_by("id")
            .values(*columns, "content", "metadata", "timestamp")[:chunk]
        )
        if not rows:
            return done
        last_id = rows[-1]["id"]
        rows.sort(key=itemgetter("session_id", "seq"))
        with transaction.atomic(), connection.cursor() as cursor:
            for session_pk, session_rows in groupby(rows, key=itemgetter("session_id")):
                session_rows = list(session_rows)
                # Stored events keep their own review: only the group and its counts change.
                representatives = writer.prepare(cursor, session_pk, session_rows)
                cursor.executemany(update, [(r["group_id"], r["id"]) for r in session_rows])
                writer.link_representatives(cursor, representatives)
        done += len(rows)
