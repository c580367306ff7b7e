"""What happens when the wrapped program waits at a prompt.

Three ways out, first answer wins:
- the policy answers it (``--auto-confirm low|medium``; never a "don't ask again" option),
- a staff member approves or denies it from the dashboard (the decision is written to the
  prompt event's review fields; the tap polls for it only while a prompt is pending),
- the person at the terminal answers it (any keystroke while the prompt is pending),
and, optionally, a timeout denies it. Every answer is recorded on the prompt event and as a
state change, and the time the program spent blocked is added to the session.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field

from django.db import DatabaseError, connection
from django.utils import timezone

from extraction.models import ExtractionEvent, ReviewStatus

log = logging.getLogger(__name__)

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}
# Programs read a burst of bytes as one paste; text and Enter go as separate writes.
KEYSTROKE_GAP_SECONDS = 0.08
POLL_SECONDS = 0.3
TITLE_PUSH = "\x1b[22;0t"  # save the window and icon titles
TITLE_POP = "\x1b[23;0t"  # restore them


def answer_writes(metadata: dict, decision: str) -> list[str]:
    """The writes that answer a prompt: approve once, or deny. [] when there is no safe way."""
    key = "approve_writes" if decision == "approve" else "deny_writes"
    if key in metadata:
        return [w for w in metadata[key] if isinstance(w, str)]
    # Line prompts from the extractor: a key (y) then Enter.
    if decision == "approve":
        approve = metadata.get("approve_key")
        return [approve, "\r"] if approve and not metadata.get("secret_input") else []
    deny = metadata.get("deny_key")
    if deny:
        return [deny] if deny == "\x1b" else [deny, "\r"]
    options = [o.get("key") for o in metadata.get("options", []) if isinstance(o, dict)]
    if "n" in options:
        return ["n", "\r"]
    if "no" in options:
        return ["no", "\r"]
    return ["\x03"] if metadata.get("secret_input") else ["n", "\r"]


@dataclass
class PendingPrompt:
    seq: int
    rule: str
    metadata: dict
    asked_at: float = field(default_factory=time.monotonic)
    deadline: float | None = None
    terminal_answered: bool = False


class PromptController:
    def __init__(
        self,
        *,
        send_input,
        writer,
        publisher,
        auto_confirm: str | None = None,
        dry_run: bool = False,
        timeout: float = 0.0,
        notify_fd: int | None = None,
        use_database: bool = True,
    ):
        self.send_input = send_input
        self.writer = writer
        self.publisher = publisher
        self.auto_confirm = auto_confirm
        self.dry_run = dry_run
        self.timeout = timeout
        # A remote tap (no database here) takes answers from the terminal, policy and timeout.
        self.use_database = use_database
        self.notify_fd = notify_fd if notify_fd is not None and os.isatty(notify_fd) else None
        self.pending: PendingPrompt | None = None
        self.wait_seconds = 0.0
        self.answers: list[dict] = []
        self._held_states: list[tuple[str, dict, float]] = []
        self._title_saved = False
        self._holding_thread: int | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._last_poll = time.monotonic()
        self._actions: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="streamtap-prompts", daemon=True)
        self._thread.start()

    # ---- called from the reader thread ----

    def on_prompt(self, row: dict) -> None:
        """A prompt event, before it is handed to the writer (so its fields can be filled).

        The state changes it causes are held until ``hand_over_states()``, which the tap calls
        once the row is with the writer: a session shown as waiting always has its prompt's
        row, which the dashboard's Approve and Deny look up.
        """
        self._holding_thread = threading.get_ident()
        meta = row["metadata"]
        with self._lock:
            if self.pending is not None:
                self._resolve_locked("superseded", by="program")
            if self._may_auto_confirm(row):
                self._auto_confirm(row)
                return
            deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
            self.pending = PendingPrompt(row["seq"], row["rule"], meta, deadline=deadline)
        state = {
            "seq": row["seq"],
            "rule": row["rule"],
            "risk_level": row["risk_level"],
            "question": meta.get("question", ""),
            "command": meta.get("command"),
            "options": meta.get("options", []),
            "screen": meta.get("screen", ""),
            "can_approve": bool(answer_writes(meta, "approve")),
        }
        if self.dry_run and row["risk_level"] in RISK_ORDER and self.auto_confirm:
            state["policy"] = "would not answer (risk above the policy)"
        self._add_state("waiting_for_input", state)
        self.publisher.state(
            {"state": "waiting_for_input", "metadata": state}, info={"status": "waiting_for_input"}
        )
        self._notify("streamtap: waiting for an answer (here or in the dashboard)")
        self._wake.set()

    def hand_over_states(self) -> None:
        """The prompt rows are with the writer: their state changes may follow."""
        held, self._held_states = self._held_states, []
        self._holding_thread = None
        for state, metadata, at in held:
            self.writer.add_state(state, metadata, at)

    def _add_state(self, state: str, metadata: dict) -> None:
        at = time.time()
        if threading.get_ident() == self._holding_thread:
            self._held_states.append((state, metadata, at))
        else:
            self.writer.add_state(state, metadata, at)

    def on_terminal_input(self) -> None:
        """Someone typed at the terminal: if a prompt is pending, they answered it."""
        with self._lock:
            if self.pending is not None and not self.pending.terminal_answered:
                self.pending.terminal_answered = True
                self._wake.set()

    def close(self) -> None:
        # One last round on the controller's thread first: a keystroke that answered the
        # prompt just before the program exited is the terminal's answer, not "unanswered".
        self._closed = True
        self._wake.set()
        self._thread.join(5.0)
        self.hand_over_states()
        with self._lock:
            if self.pending is not None:
                # The program has ended: nothing runs on after this prompt.
                self._resolve_locked("unanswered", by="program", resumed=False)
        self._restore_title()

    # ---- policy ----

    def _may_auto_confirm(self, row: dict) -> bool:
        if not self.auto_confirm:
            return False
        if RISK_ORDER.get(row["risk_level"], 2) > RISK_ORDER[self.auto_confirm]:
            return False
        meta = row["metadata"]
        return bool(answer_writes(meta, "approve")) and not meta.get("secret_input")

    def _auto_confirm(self, row: dict) -> None:
        writes = answer_writes(row["metadata"], "approve")
        decision = {
            "seq": row["seq"],
            "rule": row["rule"],
            "risk_level": row["risk_level"],
            "policy": self.auto_confirm,
            "writes": writes,
            "command": row["metadata"].get("command"),
        }
        if self.dry_run:
            row["metadata"]["policy"] = {"decision": "would_approve", **decision}
            self._add_state("auto_confirm_dry_run", decision)
            self.publisher.state({"state": "auto_confirm_dry_run", "metadata": decision})
            # The program still waits: a person (or the timeout) answers for real.
            deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
            self.pending = PendingPrompt(
                row["seq"], row["rule"], row["metadata"], deadline=deadline
            )
            self._add_state("waiting_for_input", decision)
            self._wake.set()
            return
        row["metadata"]["answer"] = {"by": "policy", "decision": "approve", "writes": writes}
        row["review_status"] = ReviewStatus.CONFIRMED
        row["reviewed_at"] = timezone.now()
        row["review_note"] = (
            f"auto-confirmed: risk {row['risk_level']} within policy {self.auto_confirm}"
        )
        self.answers.append({"by": "policy", **decision})
        self._add_state("auto_confirmed", decision)
        self.publisher.state({"state": "auto_confirmed", "metadata": decision})
        self._actions.put(writes)
        self._wake.set()

    # ---- the controller's thread: typing answers, polling for decisions, timeouts ----

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
                self._type_queued()
                self._check_pending()
                if self._closed:
                    break
        finally:
            connection.close()

    def _type_queued(self) -> None:
        while True:
            try:
                writes = self._actions.get_nowait()
            except queue.Empty:
                return
            for i, data in enumerate(writes):
                if i:
                    time.sleep(KEYSTROKE_GAP_SECONDS)
                self.send_input(data.encode())

    def _check_pending(self) -> None:
        with self._lock:
            pending = self.pending
        if pending is None:
            return
        if pending.terminal_answered:
            self._decide(pending, None, "terminal", "answered at the terminal", type_it=False)
            return
        # The database at most once per poll interval: a wake-up for a new prompt cannot find
        # an answer to it there yet, and a program printing thousands of prompts (or a flood of
        # output that matches one) must not turn into thousands of queries.
        now = time.monotonic()
        decision = None
        if now - self._last_poll >= POLL_SECONDS:
            self._last_poll = now
            decision = self._dashboard_decision(pending)
        if decision is not None:
            status, user = decision
            verb = "approve" if status == ReviewStatus.CONFIRMED else "deny"
            self._finish(pending, verb, f"dashboard:{user}", type_it=True)
            return
        if pending.deadline is not None and time.monotonic() >= pending.deadline:
            self._decide(
                pending,
                ReviewStatus.REJECTED,
                "timeout",
                f"denied: no answer within {self.timeout:g} s",
                type_it=True,
            )

    def _session_pk(self) -> int | None:
        if not self.use_database:
            return None
        session = self.writer.session
        return session.pk if session is not None else None

    def _dashboard_decision(self, pending: PendingPrompt) -> tuple[str, str] | None:
        pk = self._session_pk()
        if pk is None:
            return None
        try:
            row = (
                ExtractionEvent.objects.filter(session_id=pk, seq=pending.seq)
                .exclude(review_status=ReviewStatus.PENDING)
                .values_list("review_status", "reviewed_by__username")
                .first()
            )
        except DatabaseError:
            connection.close()  # the next poll reconnects
            return None
        if row is None or row[1] is None:
            return None
        return row[0], row[1]

    def _decide(
        self, pending: PendingPrompt, status: str | None, by: str, note: str, *, type_it: bool
    ) -> None:
        """Claim the prompt for this answer in the database: the first answer wins."""
        pk = self._session_pk()
        if pk is not None:
            try:
                claimed = ExtractionEvent.objects.filter(
                    session_id=pk, seq=pending.seq, review_status=ReviewStatus.PENDING
                ).update(
                    review_status=status or ReviewStatus.CONFIRMED,
                    review_note=note,
                    reviewed_at=timezone.now(),
                )
            except DatabaseError:
                connection.close()
                claimed = 1  # the database is away: the local answer stands
            if not claimed:
                return  # someone else answered first; the next poll applies their answer
        verb = "approve" if status in (None, ReviewStatus.CONFIRMED) else "deny"
        self._finish(pending, verb, by, type_it=type_it)

    def _finish(self, pending: PendingPrompt, verb: str, by: str, *, type_it: bool) -> None:
        with self._lock:
            if self.pending is not pending:
                return
            self._resolve_locked(verb, by=by)
        if type_it:
            writes = answer_writes(pending.metadata, verb)
            self._actions.put(writes)
            self._type_queued()
        self._notify(f"streamtap: prompt {'approved' if verb == 'approve' else 'denied'} ({by})")

    def _resolve_locked(self, outcome: str, *, by: str, resumed: bool = True) -> None:
        pending, self.pending = self.pending, None
        waited = time.monotonic() - pending.asked_at
        self.wait_seconds += waited
        answer = {
            "seq": pending.seq,
            "rule": pending.rule,
            "outcome": outcome,
            "by": by,
            "wait_seconds": round(waited, 3),
        }
        self.answers.append(answer)
        self._add_state("prompt_answered", answer)
        self.writer.update_stats(prompt_wait_seconds=round(self.wait_seconds, 3))
        if resumed:
            self.publisher.state(
                {"state": "running", "metadata": answer}, info={"status": "running"}
            )
            self._add_state("running", {"after_prompt": pending.seq})

    def _notify(self, text: str) -> None:
        # The terminal's title: visible to the person at the terminal without drawing into a
        # full-screen program's display.
        if self.notify_fd is None:
            return
        # The title before the first notice goes on the terminal's title stack (XTWINOPS 22;
        # terminals without one ignore it) and comes back at close().
        save = "" if self._title_saved else TITLE_PUSH
        self._title_saved = True
        self._write_terminal(f"{save}\x1b]2;{text}\x07")

    def _restore_title(self) -> None:
        if self._title_saved:
            self._title_saved = False
            self._write_terminal(TITLE_POP)

    def _write_terminal(self, text: str) -> None:
        try:
            os.write(self.notify_fd, text.encode())
        except OSError:
            pass
