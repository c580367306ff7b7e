"""Taps on hosts that must not hold database credentials: batches go through the server's API.

The tap side (`RemoteWriter`) has the BatchWriter's interface and behaviour — batches, retries
with backoff, a spill file when the server stays away — but POSTs each batch to
``/api/ingest/batch`` with an API token. The server side (`store_batch`) writes it with the same
idempotent inserter and announces it on the live bus, so a retried batch stores nothing twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from types import SimpleNamespace

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .live import ALL_GROUP, event_row_to_wire, group_for_session, split_frame
from .models import ProcessSession
from .persistence import BatchWriter, EventInserter, SessionSpec, clean_json, epoch_to_dt

INGEST_PATH = "/api/ingest/batch"
REQUEST_TIMEOUT = 10.0


class RemoteError(Exception):
    pass


class RemoteWriter(BatchWriter):
    def __init__(self, spec: SessionSpec, *, server_url: str, token: str, **kwargs):
        super().__init__(spec, **kwargs)
        self.url = server_url.rstrip("/") + INGEST_PATH
        self.token = token

    def _post(self, payload: dict) -> dict:
        body = json.dumps(payload, default=_json_default).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            raise RemoteError(f"HTTP {exc.code} from {self.url}: {detail}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RemoteError(f"{self.url}: {exc}") from exc

    def _payload(self, events, states, stats, finish=None) -> dict:
        return {
            "spec": dict(self.spec.__dict__),
            "events": events,
            "states": [[s, m, at] for s, m, at in states],
            "stats": stats,
            "finish": finish,
        }

    def _flush_once(self) -> bool:
        with self._cond:
            events, self._events = self._events, []
            states, self._states = self._states, []
            stats = dict(self._stats)
            self._oldest_pending = None
        try:
            answer = self._post(self._payload(events, states, stats))
        except RemoteError as exc:
            with self._cond:
                self._events[:0] = events
                self._states[:0] = states
                if self._events and self._oldest_pending is None:
                    self._oldest_pending = time.monotonic()
            self.failures += 1
            self.last_error = str(exc)
            self._backoff = min(5.0, self._backoff * 2 or 0.2)
            self._retry_at = time.monotonic() + self._backoff
            return False
        self.written_events += answer.get("stored", 0)
        self._last_write = time.monotonic()
        if self.session is None:
            self.session = SimpleNamespace(session_id=answer["session_id"], pk=answer["session_pk"])
            if self.on_session:
                self.on_session(self.session)
        self._backoff = 0.0
        self._retry_at = 0.0
        return True

    def _complete(self, finish: dict) -> None:
        with self._cond:
            stats = dict(self._stats)
        try:
            self._post(self._payload([], [], stats, finish))
        except RemoteError as exc:
            from django.db import DatabaseError

            # The final flush treats this like a database error: retry until the deadline.
            raise DatabaseError(str(exc)) from exc


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ---- server side -----------------------------------------------------------------------------

SPEC_FIELDS = set(SessionSpec.__dataclass_fields__)


def store_batch(batch: dict) -> dict:
    """Write one validated remote tap batch (see ingest_api.IngestBatchSerializer).

    Idempotent for events; returns what the tap needs to know.
    """
    batch = clean_json(batch)
    spec = SessionSpec(**{k: batch["spec"][k] for k in SPEC_FIELDS})
    # The recording lives on the tap's host. Keep where, but never as a local path: the
    # server must not serve, replay, re-read or prune a file a client named.
    spec.recording_path = f"remote://{spec.host}/{spec.recording_path.lstrip('/')}"
    rows = [{"metadata": {}, "context": "", **row} for row in batch["events"]]
    with transaction.atomic():
        session = ProcessSession.objects.filter(
            host=spec.host, recording_path=spec.recording_path
        ).first()
        if session is None:
            session = ProcessSession.start(
                spec.agent_name, tap_pid=spec.tap_pid, **spec.as_fields()
            )
        new_rows = EventInserter().insert(session.pk, rows)
        session.change_states(
            [(state, metadata, epoch_to_dt(at)) for state, metadata, at in batch["states"]]
        )
        stats = {
            k: v
            for k, v in batch["stats"].items()
            if k in ("total_lines_processed", "bytes_out", "prompt_wait_seconds")
        }
        ProcessSession.objects.filter(pk=session.pk).update(
            last_heartbeat=datetime.now(tz=UTC), **stats
        )
        finish = batch.get("finish")
        if finish:
            from .rebuild import refresh_counts

            session.refresh_from_db()
            counts = refresh_counts(session)
            session.finish(
                status=finish["status"],
                exit_code=finish["exit_code"],
                exit_signal=finish.get("exit_signal"),
                ended_at=epoch_to_dt(finish["ended_at"]),
                total_extraction_events=sum(counts.values()),
                event_counts=counts,
            )
        transaction.on_commit(lambda: _announce(session, new_rows))
    return {"session_id": session.session_id, "session_pk": session.pk, "stored": len(new_rows)}


def _announce(session: ProcessSession, rows: list[dict]) -> None:
    if not rows:
        return
    layer = get_channel_layer()
    frame = {
        "type": "live.batch",
        "session": session.session_id,
        "session_pk": session.pk,
        "events": [event_row_to_wire(row, session.session_id) for row in rows],
    }
    everyone, own = split_frame(frame)
    try:
        async_to_sync(layer.group_send)(ALL_GROUP, everyone)
        async_to_sync(layer.group_send)(group_for_session(session.pk), own)
    except Exception:  # the live bus is a hint; the database has the batch
        pass
