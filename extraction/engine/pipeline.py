"""Output chunks → recording + numbered events: the one pipeline of tap, extract, recover and
import_cast.

Determinism is what makes recovery exact: the extractor sees exactly the chunks the recording
holds, and the only time-dependent steps, ``settle()`` (a complete block is finished) and
``idle()`` (a prompt waiting for input), happen at points derived from the recorded timestamps —
a gap of at least ``SETTLE_SECONDS`` or ``IDLE_SECONDS`` between two output chunks, and once at
the end. Re-running a recording therefore yields the same ``(session, seq)`` for every event,
and writing them again is a no-op.

Plain Python like the rest of the engine: the recorder is anything with ``output(offset, text)``,
``marker(offset, label)`` and ``flush()`` (the tap's asciicast writer), and the rows go to
whoever calls (the tap's writer, the database on recover, stdout for ``extract``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from ..event_shape import WENT_ON, event_row
from .agent_streams import AgentStreamParser
from .events import Event
from .extractor import Extractor
from .redact import StreamRedactor
from .rules import RuleSet
from .screen import ScreenAnalyzer

IDLE_SECONDS = 0.15
# A shorter pause at the end of a line settles a block that stands complete (Extractor.settle):
# a program writes a diagnostic's lines microseconds apart, and a lone error line then reaches
# the page within milliseconds instead of waiting for the idle point.
SETTLE_SECONDS = 0.004
MARKER_LABEL_CHARS = 80
AGENT_DETECT_LINES = 10


class LastPrompt(NamedTuple):
    """The last prompt reported: its question and command, the last text line when it was
    reported, the line it stands on, and ``on_screen`` when that line is not known (a screen's
    report the line view did not place): then it stands at that last text line."""

    question: str
    command: str | None
    text_line: int
    line: int
    on_screen: bool


def _question(event: Event) -> str:
    return " ".join(str(event.metadata.get("question", "")).split())


def _without_menus(events: list[Event]) -> list[Event]:
    return [e for e in events if e.rule != "prompt_menu"]


def _mark_went_on(events: list[Event]) -> list[Event]:
    """Mark the prompts among ``events``: the program printed text after them before they were
    reported, so it did not wait at them."""
    for event in events:
        if event.event_type == "prompt":
            event.metadata[WENT_ON] = True
    return events


def marker_label(event: Event) -> str:
    first = event.content.strip().splitlines()[0] if event.content.strip() else event.rule
    return f"{event.event_type}: {first[:MARKER_LABEL_CHARS]}"


class RedactedOutput:
    """The output stream as the pipeline and the tap's reader (``sessions.tap.front``) both take
    it: redacted once (``redactor``, with its hold-back of a possible secret's start), then each
    piece let out numbered (``oseq``), timed (``last_offset``) and counted (``chars``) by
    ``_output``, which subclasses define (record, publish, extract)."""

    def __init__(self, *, redactor: StreamRedactor | None, recorder, on_output):
        self.redactor = redactor
        self.recorder = recorder
        self.on_output = on_output
        self.oseq = 0
        self.last_offset = 0.0
        self.chars = 0

    def feed(self, offset: float, text: str):
        """A chunk of decoded output at ``offset`` seconds since the start."""
        if self.redactor is not None:
            text = self.redactor.feed(text)
        if text:
            self._output(offset, text)

    @property
    def holding_secret(self) -> bool:
        return self.redactor is not None and self.redactor.holding_secret

    def _advance(self, offset: float, text: str) -> None:
        """``text`` goes out at ``offset``: the first step of every ``_output``."""
        self.last_offset = offset
        self.oseq += 1
        self.chars += len(text)

    def _output(self, offset: float, text: str) -> None:
        raise NotImplementedError


class Pipeline(RedactedOutput):
    """Output chunks → numbered event rows: redaction with its hold-back, agent JSON streams, the
    rules, and (in a terminal) the rendered screen's prompts.

    Built from explicit arguments: ``rules``, ``redact`` (the stream is redacted once, before the
    recording and the extractor; ``input_redacted`` when that was done before the pipeline, as
    the tap's reader does), ``agent_streams`` (``codex exec --json`` / ``claude -p
    --output-format stream-json`` read as such when the output starts with them),
    ``screen_size`` (columns, rows: a terminal emulator looks for prompts a full-screen program
    draws; None in pipe mode) and the clock: ``started_at`` (epoch seconds) plus the offsets
    given to ``feed``, so a replay of a recording numbers and dates every event as the live run
    did. ``feed``, ``idle``, ``release_overdue``, ``add_events`` and ``close`` return the rows
    they made, and hand them to ``on_events`` as well.

    Parts already built may be handed in instead (the deprecated ``sessions.pipeline`` adapter
    does): an ``extractor`` replaces ``rules``, a ``redactor`` ``redact``, a ``screen``
    ``screen_size``.
    """

    def __init__(
        self,
        *,
        rules: RuleSet | None = None,
        redact: bool = True,
        input_redacted: bool = False,
        agent_streams: bool = True,
        screen_size: tuple[int, int] | None = None,
        cwd: str | None = None,
        agent_name: str = "",
        started_at: float = 0.0,
        recorder=None,
        on_events: Callable[[list[dict]], None] | None = None,
        on_output: Callable[[int, float, str], None] | None = None,
        on_idle: Callable[[float], list[Event]] | None = None,
        on_prompt_passed: Callable[[int], None] | None = None,
        extractor: Extractor | None = None,
        redactor: StreamRedactor | None = None,
        screen: ScreenAnalyzer | None = None,
    ):
        if extractor is None:
            extractor = Extractor(rules, input_redacted=redact or input_redacted)
        if redactor is None and redact:
            redactor = StreamRedactor()
        if screen is None and screen_size is not None:
            screen = ScreenAnalyzer(screen_size[0], screen_size[1], cwd=cwd)
        super().__init__(redactor=redactor, recorder=recorder, on_output=on_output)
        self.agent_name = agent_name
        self.started_at = started_at
        self.extractor = extractor
        self.on_events = on_events
        self.on_idle = on_idle
        self.on_prompt_passed = on_prompt_passed
        self.seq = 0
        self.counts: Counter[str] = Counter()
        # The rows made since the last public call returned: what that call returns.
        self._made: list[dict] = []
        # A terminal emulator over the output (PTY mode): prompts drawn by full-screen TUIs.
        self.screen = screen
        # The last prompt reported (see _one_per_question): one event per question asked.
        self._last_prompt: LastPrompt | None = None
        # In a terminal, prompts the line view found in a complete line, and the last text line
        # then: they wait for the next look at the screen, which reports a TUI's question with
        # its command (see _look_for_prompts), or for more text (the program did not wait).
        self._held_prompts: list[Event] = []
        self._held_at = 0
        # The last prompt the line view reported without text after it, (seq, line): text on a
        # later line means the program went on, answered or not, and ``on_prompt_passed(seq)``
        # says so (the tap stops offering an answer to it). A full-screen program's menu, as the
        # screen reports it, is not followed: its redraws are text too.
        self._open_prompt: tuple[int, int] | None = None
        # Machine-readable agent output (codex exec --json, claude stream-json) is decided by
        # the first complete line: None = not yet known.
        self._agent_parser = AgentStreamParser() if agent_streams else None
        self._agent_mode: bool | None = None if agent_streams else False
        self._agent_partial = ""
        self._plain_lines = 0

    def _taken(self) -> list[dict]:
        """The rows made since the last call, handed over: the caller may keep or extend them."""
        if not self._made:
            return []
        made, self._made = self._made, []
        return made

    @property
    def lines(self) -> int:
        return self.extractor.lines

    def feed(self, offset: float, text: str) -> list[dict]:
        """A chunk of decoded output at ``offset`` seconds since the start: the rows it made."""
        super().feed(offset, text)
        return self._taken()

    def release_overdue(self, offset: float) -> list[dict]:
        """At ``offset`` seconds: a possible secret start held since the last output for
        StreamRedactor.HOLD_SECONDS is let out, replaced whole; the tap calls this when
        nothing else happens, and a replay before each chunk, so both decide alike."""
        if not self.holding_secret:
            return []
        tail = self.redactor.release_overdue(offset)
        if tail:
            self._output(self.last_offset, tail)
            self._look_for_prompts()
        return self._taken()

    def idle(self, final: bool = False) -> list[dict]:
        """The program has gone quiet: let out held-back text, then look for a prompt.

        Held text that may be the start of a secret stays held (a program printing a key in
        two writes with a pause between must not get its first half shown in clear).
        """
        if self.redactor is not None:
            tail = self.redactor.flush(final=final, now=self.last_offset)
            if tail:
                # Recorded at the time of the chunk it belongs to, so a replay of the recording
                # reaches this idle point after it, as the live run did.
                self._output(self.last_offset, tail)
        self._look_for_prompts()
        return self._taken()

    def settle(self) -> list[dict]:
        """The program paused for ``SETTLE_SECONDS``: a block that stands complete is finished
        (prompts wait for ``idle``). The live reader calls this before every idle point too,
        and so does ``replay``."""
        events = self.extractor.settle()
        if events:
            if self.screen is not None:
                events = self._hold_line_prompts(events)
            self._follow_prompts(events, self._events(self.last_offset, events))
        return self._taken()

    def _look_for_prompts(self) -> None:
        events = self.extractor.idle()
        if self.screen is not None:
            drawn = self.screen.idle(self.extractor.lines)
            held, self._held_prompts = self._held_prompts, []
            # In a terminal the rendered screen decides about menus: the line view sees redraws
            # and control bytes (a TUI's "\x1b(B\x0f") as new lines and would report the same
            # menu again after it was answered. Plain questions (`rm -i`) stay the line view's.
            placed: dict[int, int] = {}
            if any(e.event_type == "prompt" for e in drawn):
                # The line view's question waiting on the program's last line places the
                # screen's report of the same question there: after an empty answer (Enter) the
                # same question on the next line is asked anew, though no other text came.
                waiting = {_question(e): e.line_end for e in events if e.event_type == "prompt"}
                placed = {
                    id(d): waiting[_question(d)]
                    for d in drawn
                    if d.event_type == "prompt" and _question(d) in waiting
                }
                events = [e for e in events if e.event_type != "prompt"]
                held = []
            events = self._one_per_question([*held, *_without_menus(events), *drawn], drawn, placed)
            drawn_ids = {id(d) for d in drawn}
            line_view = [e for e in events if id(e) not in drawn_ids]
        else:
            held, self._held_prompts = self._held_prompts, []
            events = line_view = [*held, *events]
        if self.on_idle is not None:
            events = [*events, *self.on_idle(self.last_offset)]
        if events:
            rows = self._events(self.last_offset, events)
            self._follow_prompts(events, rows, line_view)

    def _follow_prompts(
        self, events: list[Event], rows: list[dict], line_view: list[Event] | None = None
    ) -> None:
        """Say when the open prompt has text after it, then open this output's last prompt
        the program may be waiting at (one of ``line_view``'s: all of ``events`` by default)."""
        text_line = self.extractor.last_text_line
        if self._open_prompt is not None and text_line > self._open_prompt[1]:
            seq, self._open_prompt = self._open_prompt[0], None
            if self.on_prompt_passed is not None:
                self.on_prompt_passed(seq)
        followed = {id(e) for e in (events if line_view is None else line_view)}
        for event, row in zip(events, rows, strict=True):
            if event.event_type != "prompt":
                continue
            if id(event) in followed and not event.metadata.get(WENT_ON):
                self._open_prompt = (row["seq"], event.line_end)
            else:  # a menu on the screen, or a question already passed, comes after it
                self._open_prompt = None

    def _hold_line_prompts(self, events: list[Event]) -> list[Event]:
        """A question the line view found on the last line of text waits for the idle point:
        only then is it known that the program waits at it. One with text printed after it was
        not waited at: it goes out at once, marked so (WENT_ON), as a held one does once more
        text comes, in order. Nothing is then typed into a program that printed past its
        question, however far the extraction lags behind it.

        In a terminal the idle point also looks at the screen: aider's "Run shell command?" line
        ends before prompt_toolkit moves the cursor back onto it (one more line may end before
        that, hence the slack), and the screen then reports it with its command (and the risk
        of that command), the line view without."""
        text_line = self.extractor.last_text_line
        slack = 1 if self.screen is not None else 0
        out: list[Event] = []
        if self._held_prompts and text_line - self._held_at > slack:
            out, self._held_prompts = self._one_per_question(self._held_prompts), []
            _mark_went_on(out)
        for event in events:
            if event.event_type != "prompt":
                out.append(event)
            elif event.line_end >= text_line:
                if not self._held_prompts:
                    self._held_at = text_line
                self._held_prompts.append(event)
            else:
                out += _mark_went_on(self._one_per_question([event]))
        return out

    def _one_per_question(
        self, events: list[Event], drawn: list[Event] | tuple = (), placed: dict | None = None
    ) -> list[Event]:
        """Drop a prompt another detector already reported: the same question, the same command
        (or one detector without one), and no text printed since but the question's own line.

        In a terminal aider's question is seen by the line view once its line ends (without the
        command, which stands a line above) and by the screen with it, an idle earlier or later,
        in either order; prompt_toolkit's redraw ends blank lines below the question and moves
        back up, so the line count between the two may be anything. One event, the first: when
        the line view's came first, its risk is the fail-closed high of a question without a
        command. A program asking again has printed text since (the answer's echo, the next
        command).

        Where each report stands decides "since": the line view's question is on its own line
        (two found in one chunk 200 lines apart are two questions, though both are reported at
        the chunk's end; so are two on consecutive lines: the first was answered with Enter);
        the screen's, on the line the line view saw it waiting on (``placed``), else at the last
        text line when it looked. A question whose line has scrolled off the screen is not the
        one the screen shows: a program asking again after a screenful of output asks anew,
        even if the line view reported the first question late."""
        if not any(e.event_type == "prompt" for e in events):
            return events
        kept = []
        text_line = self.extractor.last_text_line
        height = self.screen.height if self.screen is not None else 0
        placed = placed or {}
        for event in events:
            if event.event_type == "prompt":
                question = _question(event)
                command = event.metadata.get("command") or None
                if id(event) in placed:
                    on_screen, line = False, placed[id(event)]
                else:
                    on_screen = any(event is d for d in drawn)
                    line = text_line if on_screen else event.line_end
                last = self._last_prompt
                if (
                    last is not None
                    and last.question == question
                    and (last.command is None or command is None or last.command == command)
                    and self._same_ask(last, line, text_line, on_screen, height)
                ):
                    self._last_prompt = last._replace(command=last.command or command)
                    continue
                self._last_prompt = LastPrompt(question, command, text_line, line, on_screen)
            kept.append(event)
        return kept

    @staticmethod
    def _same_ask(
        last: LastPrompt, line: int, text_line: int, on_screen: bool, height: int
    ) -> bool:
        if not (on_screen or last.on_screen):  # both placed on their own lines
            return line == last.line
        if not last.on_screen and height and text_line - last.line >= height:
            return False  # the first question has scrolled off: the screen shows another
        return text_line - last.text_line <= 1

    def add_events(self, events: list[Event]) -> list[dict]:
        """Events from another channel than the output (an agent's hooks or transcript), numbered
        with the output's at the last output's offset. Call from the thread that feeds."""
        if events:
            self._events(self.last_offset, events)
        return self._taken()

    def close(self) -> list[dict]:
        """The output has ended: the rest held back, the last line, the open blocks."""
        made = self.idle(final=True)
        events: list[Event] = []
        if self._agent_partial:
            # The last line had no newline: still a line.
            if self._agent_mode:
                events += self._agent_lines(self._agent_partial + "\n")
            else:
                events += self.extractor.feed(self._agent_partial)
            self._agent_partial = ""
        events += self.extractor.close()
        if self._agent_mode:
            events = [*events, *self._agent_parser.close()]
        if events:
            self._events(self.last_offset, events)
        return [*made, *self._taken()]

    def _output(self, offset: float, text: str) -> None:
        self._advance(offset, text)
        if self.recorder is not None:
            # Output reaches the disk before anything is derived from it (write-ahead).
            self.recorder.output(offset, text)
            self.recorder.flush()
        if self.screen is not None:
            self.screen.feed(text)
        if self._agent_mode is not False:
            events = self._agent_feed(text)
        else:
            events = self.extractor.feed(text)
        events = self._hold_line_prompts(
            _without_menus(events) if self.screen is not None else events
        )
        self._follow_prompts(events, self._events(offset, events) if events else [])
        # After the events: the publisher then sends this chunk's events and output together,
        # instead of an output frame at once and the events one coalescing window later.
        if self.on_output is not None:
            self.on_output(self.oseq, offset, text)

    def _agent_feed(self, text: str) -> list[Event]:
        if self._agent_mode is None:
            return self._detect_agent_stream(text)
        text, self._agent_partial = self._agent_partial + text, ""
        nl = text.rfind("\n")
        if nl < 0:
            self._agent_partial = text
            return []
        self._agent_partial = text[nl + 1 :]
        return self._agent_lines(text[: nl + 1])

    def _detect_agent_stream(self, text: str) -> list[Event]:
        """Agent JSON mode starts at the first agent JSON line among the first few lines.

        Tools print a line or two of text first (`codex exec` says "Reading additional input
        from stdin..." on stderr); those go through the rules as usual.
        """
        text, self._agent_partial = self._agent_partial + text, ""
        lines = text.split("\n")
        rest = lines.pop()
        plain: list[str] = []
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("{") and AgentStreamParser().parse_line(stripped, 1) is not None:
                self._agent_mode = True
                events = self.extractor.feed("".join(plain)) if plain else []
                remaining = "\n".join(lines[i:]) + "\n"
                return events + self._agent_feed(remaining + rest)
            plain.append(line + "\n")
            self._plain_lines += 1
        if self._plain_lines >= AGENT_DETECT_LINES:
            self._agent_mode = False
        if rest.lstrip().startswith("{") and self._agent_mode is None:
            self._agent_partial = rest  # may be the first agent line, still arriving
        else:
            plain.append(rest)
        return self.extractor.feed("".join(plain)) if plain else []

    def _agent_lines(self, text: str) -> list[Event]:
        """Agent JSON lines become the parser's events; other lines go through the rules.

        The extractor still sees every line (JSON ones as blank lines), so line numbers stay
        those of the output.
        """
        events: list[Event] = []
        plain: list[str] = []
        for line in text.split("\n")[:-1]:
            parsed = self._agent_parser.parse_line(
                line.strip().rstrip("\r"), self.extractor.lines + len(plain) + 1
            )
            if parsed is None:
                plain.append(line + "\n")
                continue
            plain.append("\n")
            if plain:
                events += self.extractor.feed("".join(plain))
                plain = []
            events += parsed
        if plain:
            events += self.extractor.feed("".join(plain))
        return events

    def _events(self, offset: float, events: Iterable[Event]) -> list[dict]:
        timestamp = datetime.fromtimestamp(self.started_at + offset, tz=UTC)
        rows = []
        for event in events:
            self.seq += 1
            self.counts[event.event_type] += 1
            if self.recorder is not None:
                self.recorder.marker(offset, marker_label(event))
            rows.append(
                event_row(
                    event,
                    seq=self.seq,
                    agent_name=self.agent_name,
                    timestamp=timestamp,
                    offset_seconds=offset,
                )
            )
        if self.recorder is not None:
            self.recorder.flush()
        self._made += rows
        # One hand-over per chunk: the writer's and publisher's locks are taken once, not per event.
        if rows and self.on_events is not None:
            self.on_events(rows)
        return rows


class Chunk(NamedTuple):
    """One event of a recording as ``replay`` reads it: "o" output, or "r"/"i"/"m" others."""

    offset: float
    code: str
    data: str


def replay(pipeline: Pipeline, events: Iterable, on_other=None) -> Iterator[list[dict]]:
    """Feed a recording's output through a pipeline with the live run's idle points, yielding
    the rows each step made.

    The one place the settle and idle rules for recordings live (extract, recover, import_cast,
    tests).
    ``events`` have ``offset``, ``code`` and ``data`` (``Chunk``, or the recording reader's);
    those other than output ("r", "i", "m") go to ``on_other``.
    """
    previous: float | None = None
    for ev in events:
        if ev.code != "o":
            if on_other is not None:
                on_other(ev)
            continue
        if previous is not None and ev.offset - previous >= SETTLE_SECONDS:
            yield pipeline.settle()
            if ev.offset - previous >= IDLE_SECONDS:
                yield pipeline.idle()
                yield pipeline.release_overdue(ev.offset)
        yield pipeline.feed(ev.offset, ev.data)
        previous = ev.offset
    yield pipeline.close()


def replay_recording(pipeline: Pipeline, events: Iterable, on_other=None) -> float:
    """``replay`` to the end, the rows left to ``on_events``. Returns the last event's offset."""
    end = 0.0

    def tracked() -> Iterator:
        nonlocal end
        for ev in events:
            end = ev.offset
            yield ev

    for _ in replay(pipeline, tracked(), on_other):
        pass
    return end
