"""Tail the transcript an agent writes for this run and turn it into events.

Where each agent writes it (see extraction/engine/transcripts.py for what is in it):

- Claude Code: the hook payload's ``transcript_path``; without hooks, the newest ``*.jsonl``
  under ``~/.claude/projects/`` (``$CLAUDE_CONFIG_DIR/projects/``) written since the tap started;
- Codex: the newest ``rollout-*.jsonl`` under ``$CODEX_HOME/sessions/`` (``~/.codex``) written
  since the tap started, whose ``session_meta`` names this run's working directory;
- aider: ``.aider.chat.history.md`` in the working directory (``--chat-history-file``), read
  from where it ended when the tap started.

A thread polls the file (new bytes only) and queues the events; the tap's reader thread takes
them with ``drain()``, so they are numbered with the output's. ``close()`` reads to the end.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path

from extraction.engine import Event
from extraction.engine.transcripts import PARSERS

POLL_SECONDS = 0.5
LOCATE_SLACK_SECONDS = 2.0
AIDER_HISTORY = ".aider.chat.history.md"


def aider_history_path(argv: list[str], cwd: str) -> Path:
    for i, arg in enumerate(argv):
        if arg == "--chat-history-file" and i + 1 < len(argv):
            return Path(cwd, argv[i + 1])
        if arg.startswith("--chat-history-file="):
            return Path(cwd, arg.split("=", 1)[1])
    return Path(cwd, AIDER_HISTORY)


def _newest(paths, since: float) -> list[Path]:
    found = []
    for path in paths:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if mtime >= since - LOCATE_SLACK_SECONDS:
            found.append((mtime, path))
    return [p for _, p in sorted(found, reverse=True)]


def _codex_cwd(path: Path) -> str | None:
    try:
        with path.open() as f:
            first = json.loads(f.readline() or "{}")
    except (OSError, ValueError):
        return None
    payload = first.get("payload") if isinstance(first, dict) else None
    return payload.get("cwd") if isinstance(payload, dict) else None


class TranscriptTail:
    """One agent's transcript for one session."""

    def __init__(self, kind: str, *, argv: list[str], cwd: str, started_at: float):
        self.kind = kind
        self.cwd = cwd
        self.started_at = started_at
        self.parser = PARSERS[kind](cwd=cwd)
        self.path: Path | None = None
        self._offset = 0
        self._partial = b""
        self._line = 0
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if kind == "aider":
            self.path = aider_history_path(argv, cwd)
            try:
                self._offset = self.path.stat().st_size  # earlier chats are not this run's
            except OSError:
                self._offset = 0
        self._thread = threading.Thread(target=self._run, name="streamtap-transcript", daemon=True)
        self._thread.start()

    def use(self, path: str) -> None:
        """The transcript's path, as the agent's hook reported it."""
        with self._lock:
            if self.path is None or str(self.path) != path:
                self.path, self._offset, self._partial = Path(path), 0, b""

    def drain(self, line: int) -> list[Event]:
        """The events since the last call, placed at the output's current line (the
        transcript's own line number stays in ``transcript_line``)."""
        events = []
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return events
            event.metadata["transcript_line"] = event.line_start
            event.line_start = event.line_end = max(1, line)
            events.append(event)

    def close(self, line: int) -> list[Event]:
        """Read what is left, then the parser's totals (token usage)."""
        self._stop.set()
        self._thread.join(5.0)
        self._poll(final=True)
        for event in self.parser.close():
            self._queue.put(event)
        return self.drain(line)

    # ---- the polling thread ----

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._poll()

    def _poll(self, final: bool = False) -> None:
        with self._lock:
            if self.path is None:
                self.path = self._locate()
                if self.path is None:
                    return
            try:
                with self.path.open("rb") as f:
                    f.seek(self._offset)
                    data = f.read()
            except OSError:
                return
            self._offset += len(data)
            for event in self._parse(data, final):
                self._queue.put(event)

    def _parse(self, data: bytes, final: bool) -> list[Event]:
        if self.kind == "aider":
            text = data.decode("utf-8", "replace")
            self._line += text.count("\n")
            return self.parser.feed_text(text, self._line) if text else []
        data, self._partial = self._partial + data, b""
        lines = data.split(b"\n")
        if not final:
            self._partial = lines.pop()  # a line still being written
        events = []
        for raw in lines:
            self._line += 1
            if raw.strip():
                events += self.parser.feed_line(raw.decode("utf-8", "replace"), self._line)
        return events

    def _locate(self) -> Path | None:
        home = Path.home()
        if self.kind == "claude":
            base = Path(os.environ.get("CLAUDE_CONFIG_DIR") or home / ".claude") / "projects"
            candidates = _newest(base.glob("*/*.jsonl"), self.started_at)
            return candidates[0] if candidates else None
        if self.kind == "codex":
            base = Path(os.environ.get("CODEX_HOME") or home / ".codex") / "sessions"
            for path in _newest(base.glob("*/*/*/rollout-*.jsonl"), self.started_at):
                if _codex_cwd(path) in (self.cwd, os.path.realpath(self.cwd)):
                    return path
        return None
