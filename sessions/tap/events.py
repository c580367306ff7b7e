"""Where a batch of numbered event rows goes: prompts first, then the writer, then the page."""

from __future__ import annotations

import time

from ..pipeline import MARKER_LABEL_CHARS


def marker_label(row: dict) -> str:
    """The recording's marker for an event row (the label ``Pipeline`` gives an Event)."""
    content = row["content"].strip()
    first = content.splitlines()[0] if content else row["rule"]
    return f"{row['event_type']}: {first[:MARKER_LABEL_CHARS]}"


class EventRouter:
    """Routes the extraction's rows, in order, on one thread.

    - a prompt goes to the prompt controller before the writer takes its row (an automatic
      answer is recorded on the row), or to the agent's hooks when they asked it already;
    - the rows go to the writer, then the prompt's state changes (a session shown waiting
      always has its prompt's row in the database);
    - then the publisher, and a marker per event in the recording (one write per batch).
    """

    def __init__(self, *, writer, publisher, prompts, hooks=None, markers=None):
        """``markers([(offset, label), …])``: writes the recording's markers (None: no
        recording)."""
        self.writer = writer
        self.publisher = publisher
        self.prompts = prompts
        self.hooks = hooks
        self.markers = markers

    def route(self, rows: list[dict]) -> None:
        if self.markers is not None:
            self.markers([(row["offset_seconds"], marker_label(row)) for row in rows])
        prompt_seen = False
        hooks = self.hooks
        for row in list(rows):
            if row["event_type"] != "prompt":
                continue
            prompt_seen = True
            if hooks is None:
                self.prompts.on_prompt(row)
            elif not hooks.on_prompt_row(row, self.prompts):
                # The agent's own prompt, maybe for a call its hook already showed.
                approved = hooks.join(row)
                if approved is None:
                    self.prompts.on_prompt(row)
                else:
                    rows.remove(row)  # asked and answered once, as the hook's prompt
                    answer = hooks.answer_again(row, approved)
                    self.writer.add_state("prompt_answered_again", answer, time.time())
        self.writer.add_events(rows)
        if prompt_seen:
            self.prompts.hand_over_states()
        # The session id is filled in by the publisher once the session row exists.
        self.publisher.events(rows)
