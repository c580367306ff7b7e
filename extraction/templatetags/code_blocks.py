"""The risk mark of a code block: the command in it that the engine's classifier flags."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from extraction.engine.risk import DEFAULT_POLICY

register = template.Library()


@dataclass(frozen=True)
class CodeRisk:
    level: str  # "high" or "medium": the badge's class and its text
    command: str  # what in the block made it so, shown beside the level


@register.filter
def code_risk(content: str) -> CodeRisk | None:
    """High for a destructive command (``rm -rf``, ``git push --force``, ``DROP TABLE`` …),
    medium for installs and network access, None for the rest.

    The same lists the extractor rates prompts and events with (extraction/engine/risk.py):
    a block is only shown, never run, so it is marked for the person about to copy it.
    """
    text = content or ""
    destructive = DEFAULT_POLICY.find_destructive(text)
    if destructive:
        return CodeRisk("high", destructive.strip())
    medium = DEFAULT_POLICY.medium_re.search(text)
    if medium:
        return CodeRisk("medium", medium.group(0).strip())
    return None
