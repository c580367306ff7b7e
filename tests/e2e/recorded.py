"""Sessions with a real asciicast recording and events, written into a live server's database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from sessions.recording import AsciicastWriter


def numbered_lines(duration: float, suffix: str = "") -> list[tuple[float, str]]:
    """Output chunks of a line every half second from 0 to ``duration``: ``line 000``, … ."""
    return [(i * 0.5, f"line {i:03d}{suffix}\r\n") for i in range(int(duration * 2) + 1)]


def recorded_session(
    server,
    session_id: str,
    output: Iterable[tuple[float, str]],
    events: Iterable[tuple] = (),
    *,
    mode: str = "pty",
    cols: int = 100,
    rows: int = 20,
    duration: float | None = None,
    recording: bool = True,
) -> str:
    """A completed session: ``output`` as (offset, text) chunks of its recording, ``events`` as
    (offset, type, content[, line]) extraction events, in order (seq 1, 2, …; the line defaults
    to the seq). Without ``recording`` the session's recording path names a file that is not
    there (moved or pruned)."""
    output = list(output)
    events = [(*e, i) if len(e) == 3 else tuple(e) for i, e in enumerate(events, 1)]
    path = server.data_dir / "recordings" / f"{session_id}.cast"
    if recording:
        writer = AsciicastWriter(path, width=cols, height=rows, started=time.time())
        for offset, text in output:
            writer.output(offset, text)
        writer.close()
    duration = duration if duration is not None else max([t for t, _ in output] or [1.0])
    server.shell(
        f"""
from datetime import timedelta
from django.utils import timezone
from sessions.models import ProcessSession
from extraction.models import ExtractionEvent
start = timezone.now() - timedelta(minutes=30)
s = ProcessSession.objects.create(session_id={session_id!r}, agent_name="recorded",
    command_line="recorded", status="completed", started_at=start,
    ended_at=start + timedelta(seconds={duration}), exit_code=1, mode={mode!r},
    term_cols={cols}, term_rows={rows}, recording_path={str(path)!r})
for seq, (offset, kind, content, line) in enumerate({json.dumps(events)}, 1):
    ExtractionEvent.objects.create(session=s, seq=seq, agent_name="recorded", event_type=kind,
        rule="test_" + kind, severity="error" if kind == "error" else "info", risk_level="low",
        line_start=line, line_end=line, content=content,
        timestamp=start + timedelta(seconds=offset), offset_seconds=offset)
"""
    )
    return session_id
