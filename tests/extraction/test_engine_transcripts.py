"""Transcript lines → events: the content a TUI draws without its fences, and the usage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from extraction.engine.transcripts import AiderHistory, ClaudeTranscript, CodexRollout

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"
CODE = "def greet(name):\n    return f'hello {name}'"
REPLY = f"Here it is:\n\n```python\n{CODE}\n```\n"
SHA = hashlib.sha256(CODE.encode()).hexdigest()


def feed(parser, lines) -> list:
    events = []
    for n, line in enumerate(lines, 1):
        events += parser.feed_line(line, n)
    return events + parser.close()


def by_rule(events, rule):
    return [e for e in events if e.rule == rule]


def claude_text_line(message_id: str, text: str) -> str:
    message = {"id": message_id, "role": "assistant", "content": [{"type": "text", "text": text}],
               "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7}}  # fmt: skip
    return json.dumps({"type": "assistant", "message": message, "sessionId": "s"})


def test_claude_code_blocks_carry_language_sha256_and_source():
    events = feed(ClaudeTranscript(), [claude_text_line("msg_1", REPLY)])
    [block] = [e for e in events if e.event_type == "code_block"]
    assert block.content == CODE
    assert block.metadata == {
        "agent": "claude",
        "source": "transcript",
        "language": "python",
        "sha256": SHA,
    }


def test_claude_usage_counts_each_message_once():
    # Claude writes one line per content block, each with the message's usage.
    lines = [
        claude_text_line("msg_1", "a"),
        claude_text_line("msg_1", "b"),
        claude_text_line("msg_2", "c"),
    ]
    usage = {
        e.metadata["name"]: e.metadata["value"]
        for e in by_rule(feed(ClaudeTranscript(), lines), "agent_usage")
    }
    assert usage == {"tokens_input": 30, "tokens_cached_input": 10, "tokens_output": 14}


def test_claude_real_transcript_denied_call():
    lines = (FIXTURES / "claude-2.1.332-denied.jsonl").read_text().splitlines()
    events = feed(ClaudeTranscript(), lines)
    [denied] = by_rule(events, "agent_permission_denied")
    assert (
        denied.metadata["command"] == "rm -rf build/" and denied.metadata["source"] == "transcript"
    )
    assert by_rule(events, "agent_usage")


def test_codex_real_rollout_command_result_and_usage():
    lines = (FIXTURES / "codex-0.171.0-rollout.jsonl").read_text().splitlines()
    events = feed(CodexRollout(), lines)
    [failed] = by_rule(events, "agent_command_failed")
    assert failed.metadata["command"] == "mkdir -p dist && echo built > dist/out.txt"
    usage = {e.metadata["name"]: e.metadata["value"] for e in by_rule(events, "agent_usage")}
    assert usage == {"tokens_input": 240, "tokens_cached_input": 0, "tokens_output": 18}


def test_codex_assistant_message_code_block():
    item = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": REPLY}],
    }
    events = feed(CodexRollout(), [json.dumps({"type": "response_item", "payload": item})])
    [block] = [e for e in events if e.event_type == "code_block"]
    assert (block.content, block.metadata["sha256"]) == (CODE, SHA)


def test_aider_history_blocks_arrive_whole_even_when_split():
    parser = AiderHistory()
    head, tail = REPLY[:30], REPLY[30:]
    assert parser.feed_text("#### Write greet  \n\n" + head, 3) == []
    events = parser.feed_text(
        tail + "\n> Tokens: 2.3k sent, 13 received. Cost: $0.01 message, $0.02 session.  \n", 9
    )
    [block] = [e for e in events if e.event_type == "code_block"]
    assert (block.content, block.metadata["language"], block.metadata["source"]) == (
        CODE,
        "python",
        "transcript",
    )
    totals = {e.metadata["name"]: e.metadata["value"] for e in parser.close()}
    assert totals == {"tokens_input": 2300, "tokens_output": 13, "cost_usd": 0.01}
