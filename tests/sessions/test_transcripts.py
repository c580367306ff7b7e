"""Tailing an agent's transcript file while it grows: only this run's part, whole lines."""

from __future__ import annotations

import json
import time

from sessions.transcripts import TranscriptTail

CODE = "print('hi')"


def wait_events(tail: TranscriptTail, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    events: list = []
    while time.monotonic() < deadline and not events:
        events = tail.drain(line=3)
        time.sleep(0.05)
    return events


def test_aider_history_from_where_it_ended_when_the_tap_started(tmp_path):
    history = tmp_path / ".aider.chat.history.md"
    history.write_text(f"# an earlier chat\n\n```python\n{CODE}\n```\n")
    tail = TranscriptTail("aider", argv=["aider"], cwd=str(tmp_path), started_at=time.time())
    try:
        with history.open("a") as f:
            f.write("#### again\n\n```python\n")
            f.flush()
            time.sleep(0.7)  # the poller sees half a block: nothing yet
            assert tail.drain(line=1) == []
            f.write(f"{CODE}\n```\n")
        [event] = wait_events(tail)
    finally:
        leftover = tail.close(line=9)
    assert event.content == CODE and event.line_start == 3
    assert event.metadata["transcript_line"] >= 3
    assert leftover == []  # the earlier chat's block was never read


def test_claude_transcript_named_by_the_hook(tmp_path):
    path = tmp_path / "session.jsonl"
    tail = TranscriptTail("claude", argv=["claude"], cwd=str(tmp_path), started_at=time.time())
    line = {"type": "assistant", "sessionId": "s",
            "message": {"id": "m1", "role": "assistant", "usage": {"output_tokens": 3},
                        "content": [{"type": "text", "text": f"```python\n{CODE}\n```"}]}}  # fmt: skip
    try:
        tail.use(str(path))
        # A line still being written is not parsed until its newline arrives.
        path.write_text(json.dumps(line))
        time.sleep(0.7)
        assert tail.drain(line=1) == []
        with path.open("a") as f:
            f.write("\n")
        [event] = wait_events(tail)
    finally:
        totals = tail.close(line=5)
    assert (event.event_type, event.content, event.metadata["source"]) == (
        "code_block",
        CODE,
        "transcript",
    )
    assert {e.metadata["name"] for e in totals} >= {"tokens_output"}
