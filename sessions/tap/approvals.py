"""What happens when the wrapped program waits at a prompt.

Three ways out, first answer wins:
- the policy answers it (``--auto-confirm low|medium``; never a "don't ask again" option),
- a staff member approves or denies it from the dashboard (the decision is written to the
  prompt event's review fields; the tap polls for it only while a prompt is pending),
- the person at the terminal answers it (the keys typed are read against the prompt's options:
  approve, deny or unknown, never an approval by default),
and, optionally, a timeout denies it. Every answer is recorded on the prompt event's
``prompt_decision`` (never on its triage, ``review_status``: marking an event confirmed answers
nothing) and as a state change, and the time the program spent blocked is added to the session.

Nothing is answered automatically unless what it approves can be read: above ``low`` risk a
prompt needs a known command or file for ``--auto-confirm`` to answer it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, connection
from django.utils import timezone

from extraction.models import ExtractionEvent, PromptDecision, decide_passed_prompt

from .terminal_answers import TerminalAnswer

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
    # The keys typed at the terminal while it waits, and what they answered once known.
    keys: TerminalAnswer | None = None
    terminal_outcome: str | None = None
    # A prompt answered through a callback (an agent's hook waiting on a socket) instead of
    # keys typed into the program: resolve(verb, by) with verb "approve" or "deny".
    resolve: Callable[[str, str], None] | None = None


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
        # Prompt rows seen since the last hand-over to the writer, by seq: a prompt superseded
        # before its row left is marked on the row itself. One whose row left already is marked
        # by the writer, in the transaction that stores its "prompt_answered" state
        # (ProcessSession.change_states): a decision on it is refused from then on.
        self._rows_in_hand: dict[int, dict] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="streamtap-prompts", daemon=True)
        self._thread.start()

    def is_waiting(self) -> bool:
        """The program waits at a prompt that nobody (person, policy, timeout) has answered."""
        return self.pending is not None

    # ---- called from the reader thread ----

    def on_prompt(self, row: dict, resolve: Callable[[str, str], None] | None = None) -> None:
        """A prompt event, before it is handed to the writer (so its fields can be filled).

        The state changes it causes are held until ``hand_over_states()``, which the tap calls
        once the row is with the writer: a session shown as waiting always has its prompt's
        row, which the dashboard's Approve and Deny look up.
        """
        self._holding_thread = threading.get_ident()
        meta = row["metadata"]
        with self._lock:
            if self.pending is not None:
                self._supersede_locked(self.pending.seq)
                self._resolve_locked(PromptDecision.SUPERSEDED, by="program")
            # The program printed on before the question was even found: it is not waiting, so
            # nothing is typed (a "y" would land in whatever reads next), the session is not
            # shown waiting and no state is recorded for it.
            if resolve is None and decide_passed_prompt(row, timezone.now()):
                return
            self._rows_in_hand[row["seq"]] = row
            if resolve is None and self._may_auto_confirm(row):
                self._auto_confirm(row)
                return
            deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
            self.pending = PendingPrompt(
                row["seq"], row["rule"], meta, deadline=deadline, resolve=resolve
            )
        state = {
            "seq": row["seq"],
            "rule": row["rule"],
            "risk_level": row["risk_level"],
            "question": meta.get("question", ""),
            "command": meta.get("command"),
            "options": meta.get("options", []),
            "screen": meta.get("screen", ""),
            "can_approve": resolve is not None or bool(answer_writes(meta, "approve")),
        }
        if self.dry_run and row["risk_level"] in RISK_ORDER and self.auto_confirm:
            state["policy"] = "would not answer (risk above the policy)"
        self._add_state("waiting_for_input", state)
        self.publisher.state(
            {"state": "waiting_for_input", "metadata": state}, info={"status": "waiting_for_input"}
        )
        self._notify("streamtap: waiting for an answer (here or in the dashboard)")
        self._wake.set()

    def on_resolvable_prompt(
        self, row: dict, resolve: Callable[[str, str], None], hold_seconds: float = 0.0
    ) -> None:
        """A prompt answered by calling ``resolve(verb, by)`` instead of typing into the program.

        An agent's hook holds a tool call until the policy, the dashboard or the timeout decides;
        the program shows no prompt of its own, so keys typed at the terminal do not answer it.
        Whatever ends the prompt without a decision (superseded, the program ended) denies.
        ``hold_seconds``: how long the hook can wait at most; without a prompt timeout, the
        prompt is denied then, so what is recorded is what the agent was told.
        """
        if self._may_auto_confirm(row, resolvable=True):
            self._holding_thread = threading.get_ident()
            with self._lock:
                self._auto_confirm(row, type_it=False)
            resolve("approve", "policy")
            return
        self.on_prompt(row, resolve=resolve)
        with self._lock:
            pending = self.pending
            if hold_seconds > 0 and pending is not None and pending.resolve is resolve:
                limit = pending.asked_at + hold_seconds
                pending.deadline = min(pending.deadline or limit, limit)

    def on_program_went_on(self, seq: int) -> None:
        """The program printed text after prompt ``seq``: it is no longer waiting there.

        Keys typed at the terminal meanwhile answered it (the controller's thread records
        their outcome); otherwise the program went on unanswered: it is superseded, and an
        answer from the dashboard or the policy can no longer be typed into it. A hook's prompt
        is the agent's call waiting on a socket, whatever its screen shows: it stays.
        """
        with self._lock:
            pending = self.pending
            if pending is None or pending.seq != seq or pending.resolve is not None:
                return
            if pending.keys is not None:
                if pending.terminal_outcome is None:
                    pending.terminal_outcome = PromptDecision.UNKNOWN
                self._wake.set()
                return
            self._supersede_locked(seq)
            self._resolve_locked(PromptDecision.SUPERSEDED, by="program")

    def _supersede_locked(self, seq: int) -> None:
        row = self._rows_in_hand.get(seq)
        if row is not None and row.get("prompt_decision") is None:
            row["prompt_decision"] = PromptDecision.SUPERSEDED
            row["prompt_decision_by"] = "program"
            row["prompt_decided_at"] = timezone.now()

    def hand_over_states(self) -> None:
        """The prompt rows are with the writer: their state changes may follow."""
        self._rows_in_hand.clear()
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

    def on_terminal_input(self, data: bytes = b"") -> None:
        """Someone typed at the terminal: what it answers, if a prompt is pending and it does."""
        with self._lock:
            pending = self.pending
            if pending is None or pending.resolve is not None or pending.terminal_outcome:
                return
            if pending.keys is None:
                pending.keys = TerminalAnswer(pending.metadata)
            outcome = pending.keys.feed(data.decode("utf-8", "replace"))
            if outcome is not None:
                pending.terminal_outcome = outcome
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
                # The program has ended: nothing runs on after this prompt. The writer marks
                # its row with the state this records (ProcessSession.change_states).
                self._resolve_locked(PromptDecision.UNANSWERED, by="program", resumed=False)
        self._restore_title()

    # ---- policy ----

    def _may_auto_confirm(self, row: dict, resolvable: bool = False) -> bool:
        if not self.auto_confirm:
            return False
        if RISK_ORDER.get(row["risk_level"], 2) > RISK_ORDER[self.auto_confirm]:
            return False
        meta = row["metadata"]
        if row["risk_level"] != "low" and not (meta.get("command") or meta.get("file")):
            return False  # what it would approve cannot be read
        if resolvable:
            return not self.dry_run
        return bool(answer_writes(meta, "approve")) and not meta.get("secret_input")

    def _auto_confirm(self, row: dict, type_it: bool = True) -> None:
        writes = answer_writes(row["metadata"], "approve") if type_it else []
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
        row["prompt_decision"] = PromptDecision.APPROVE
        row["prompt_decision_by"] = (
            f"policy: risk {row['risk_level']} within --auto-confirm {self.auto_confirm}"
        )
        row["prompt_decided_at"] = timezone.now()
        self.answers.append({"by": "policy", **decision})
        self._add_state("auto_confirmed", decision)
        self.publisher.state({"state": "auto_confirmed", "metadata": decision})
        if writes:
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
        if pending.terminal_outcome:
            self._decide(pending, pending.terminal_outcome, "terminal", type_it=False)
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
            verb, by = decision
            self._finish(pending, verb, by, type_it=True)
            return
        if pending.deadline is not None and time.monotonic() >= pending.deadline:
            self._decide(pending, PromptDecision.DENY, "timeout", type_it=True)

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
            # Only the prompt decision answers; triage (review_status) is not looked at.
            row = (
                ExtractionEvent.objects.filter(
                    session_id=pk,
                    seq=pending.seq,
                    prompt_decision__in=(PromptDecision.APPROVE, PromptDecision.DENY),
                    prompt_decision_by__startswith="dashboard:",
                )
                .values_list("prompt_decision", "prompt_decision_by")
                .first()
            )
        except DatabaseError:
            connection.close()  # the next poll reconnects
            return None
        return row

    def _decide(self, pending: PendingPrompt, verb: str, by: str, *, type_it: bool) -> None:
        """Claim the prompt for this answer in the database: the first answer wins."""
        if self._claim(pending.seq, verb, by) is False:
            return  # someone else answered first; the next poll applies their answer
        self._finish(pending, verb, by, type_it=type_it)

    def _claim(self, seq: int, decision: str, by: str) -> bool | None:
        """Record the decision if none is: True if recorded, False if one was, None if unknown
        (no database here, or it is away: the local answer stands)."""
        pk = self._session_pk()
        if pk is None:
            return None
        try:
            return bool(
                ExtractionEvent.objects.filter(
                    session_id=pk, seq=seq, prompt_decision__isnull=True
                ).update(
                    prompt_decision=decision,
                    prompt_decision_by=by,
                    prompt_decided_at=timezone.now(),
                )
            )
        except DatabaseError:
            connection.close()
            return None

    def _finish(self, pending: PendingPrompt, verb: str, by: str, *, type_it: bool) -> None:
        with self._lock:
            if self.pending is not pending:
                return
            self._resolve_locked(verb, by=by)
        if pending.resolve is not None:
            pending.resolve(verb, by)
        elif type_it:
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
        if pending.resolve is not None and outcome not in ("approve", "deny"):
            pending.resolve("deny", by)  # superseded or the program ended: nothing approved it
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
