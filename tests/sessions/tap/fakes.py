"""Fakes of the tap's collaborators: they record what they are given, nothing more."""

from __future__ import annotations

import threading


class Calls:
    """Records every method call as (name, args)."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.lock = threading.Lock()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args, **kwargs):
            with self.lock:
                self.calls.append((name, *args, *([kwargs] if kwargs else [])))

        return record

    def named(self, name: str) -> list[tuple]:
        return [c[1:] for c in self.calls if c[0] == name]


class FakeWriter(Calls):
    session = None


class FakeExtraction(Calls):
    """What RecordingFront hands on: feed, idle, resize."""


class FakePrompts(Calls):
    def __init__(self, answer_with: dict | None = None):
        super().__init__()
        self.answer_with = answer_with or {}

    def on_prompt(self, row, resolve=None):
        self.calls.append(("on_prompt", row["seq"]))
        row.update(self.answer_with)


class FakeHooks:
    """An agent's hooks: a prompt row is theirs when its seq is in ``own``; a screen prompt
    joins an approved hook call when its seq is in ``joined``."""

    def __init__(self, own=(), joined=()):
        self.own, self.joined = set(own), set(joined)

    def on_prompt_row(self, row, prompts) -> bool:
        return row["seq"] in self.own

    def join(self, row):
        return True if row["seq"] in self.joined else None

    def answer_again(self, row, approved):
        return {"seq": row["seq"], "approved": approved}


def row(seq: int, event_type: str = "error", content: str = "boom", **extra) -> dict:
    return {
        "seq": seq,
        "event_type": event_type,
        "rule": "r",
        "content": content,
        "offset_seconds": float(seq),
        "metadata": {},
        "risk_level": "low",
        **extra,
    }
