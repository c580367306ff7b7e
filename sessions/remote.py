"""Taps on hosts that must not hold database credentials: batches go through the server's API.

The tap side is the same ``BatchWriter`` (batches, retries with backoff, a spill file when the
server stays away) with an ``HttpStore``: each batch is POSTed to ``/api/ingest/batch`` with an
API token. The server side (``store_batch``) writes it with the same idempotent inserter, so a
retried batch stores nothing twice. It announces nothing: the remote tap's own live publisher
(sessions/tap/publisher.py, a websocket with the same token) is the only publisher of its
events, as for a local tap (docs/architecture.md, "The live bus").
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from .models import ProcessSession
from .persistence import (
    BatchWriter,
    EventInserter,
    SessionSpec,
    StoreUnavailable,
    clean_json,
    epoch_to_dt,
)

INGEST_PATH = "/api/ingest/batch"
REQUEST_TIMEOUT = 10.0


@dataclass
class RemoteSession:
    """The session row as the server named it."""

    session_id: str
    pk: int


class HttpStore:
    """A BatchWriter's store on another host: the server's ingest API, with a token.

    The server finds the session by the spec every batch carries (host and recording path),
    so each request stands alone and a retried one stores nothing twice. Any failure to get an
    answer (refused, timed out, an HTTP error) is ``StoreUnavailable``: the writer retries.
    """

    def __init__(self, spec: SessionSpec, *, server_url: str, token: str):
        self.spec = spec
        self.url = server_url.rstrip("/") + INGEST_PATH
        self.token = token

    def open_session(self, spec: SessionSpec) -> RemoteSession:
        answer = self._post(self._payload([], [], {}))
        return RemoteSession(session_id=answer["session_id"], pk=answer["session_pk"])

    def write_batch(self, session, events: list[dict], states: list, stats: dict) -> int:
        return self._post(self._payload(events, states, stats)).get("stored", 0)

    def finish(self, session, outcome: dict, stats: dict) -> None:
        self._post(self._payload([], [], stats, outcome))

    def close(self) -> None:
        pass  # one connection per request

    def _payload(self, events, states, stats, finish=None) -> dict:
        return {
            "spec": dict(self.spec.__dict__),
            "events": events,
            "states": [[s, m, at] for s, m, at in states],
            "stats": stats,
            "finish": finish,
        }

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
            raise StoreUnavailable(f"HTTP {exc.code} from {self.url}: {detail}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc


def RemoteWriter(spec: SessionSpec, *, server_url: str, token: str, **kwargs) -> BatchWriter:  # noqa: N802
    """Deprecated: ``BatchWriter(spec, HttpStore(spec, server_url=…, token=…), …)``."""
    return BatchWriter(spec, HttpStore(spec, server_url=server_url, token=token), **kwargs)


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
        session.record_stats(batch["stats"])
        finish = batch.get("finish")
        if finish:
            session.finish(
                status=finish["status"],
                exit_code=finish["exit_code"],
                exit_signal=finish.get("exit_signal"),
                ended_at=epoch_to_dt(finish["ended_at"]),
                stats=batch["stats"],
            )
    return {"session_id": session.session_id, "session_pk": session.pk, "stored": len(new_rows)}
