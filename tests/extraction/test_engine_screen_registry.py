"""Supporting a new agent on the screen is a finder in the registry: nothing else changes."""

from __future__ import annotations

import re

from extraction.engine.screen import ScreenAnalyzer, registry
from extraction.engine.screen.layout import ENTER, ESC

GIZMO_RE = re.compile(r"^gizmo wants to run: (?P<command>.+) \[allow/deny\]$")


def find_gizmo(lines: list[str], last: int, cursor_row: int) -> dict | None:
    """What a module gizmo.py beside claude.py would hold."""
    m = GIZMO_RE.match(lines[last].strip())
    if m is None:
        return None
    return {
        "program": "gizmo",
        "rule": "gizmo_permission",
        "question": "Allow this command?",
        "command": m.group("command"),
        "options": [
            {"key": "a", "label": "allow", "kind": "approve_once"},
            {"key": "d", "label": "deny", "kind": "deny"},
        ],
        "approve_key": "a",
        "deny_key": "d",
        "approve_writes": ["a", ENTER],
        "deny_writes": [ESC],
        "block": lines[last].strip(),
    }


def test_a_finder_added_to_the_registry_reports_its_agents_prompt(monkeypatch):
    monkeypatch.setattr(registry, "FINDERS", [find_gizmo, *registry.FINDERS])
    screen = ScreenAnalyzer(80, 24)
    screen.feed("working...\r\ngizmo wants to run: rm -rf build [allow/deny]")
    [event] = screen.idle(2)
    assert (event.event_type, event.rule) == ("prompt", "gizmo_permission")
    assert event.metadata["program"] == "gizmo"
    assert event.metadata["command"] == "rm -rf build"
    # The risk comes from the command, as for every agent: destructive is high.
    assert event.risk_level == "high" and not event.auto_confirmable


def test_without_the_finder_the_line_is_no_prompt():
    screen = ScreenAnalyzer(80, 24)
    screen.feed("working...\r\ngizmo wants to run: rm -rf build [allow/deny]")
    assert screen.idle(2) == []


def test_every_agent_module_is_in_the_registry():
    programs = {f.func.__module__ if hasattr(f, "func") else f.__module__ for f in registry.FINDERS}
    assert {m.rsplit(".", 1)[1] for m in programs} == {"generic", "codex", "aider"}
    assert [agent.NAME for agent in registry.MENU_AGENTS] == ["codex", "claude"]
