"""The streaming extractor: text in, events out, the same events however the text is chunked."""

from __future__ import annotations

import hashlib

from . import blocks
from .blocks import END, SPLIT, STOP, TAKE, Block
from .events import Event
from .hyperscan_db import hyperscan as _hyperscan
from .log_formats import pytest_key
from .prompts import parse_menu
from .redact import redact
from .risk import base_risk, prompt_risk
from .rules import Rule, RuleSet
from .text import PartialLine, clean_region

CONTEXT_LINES = 3
SCREEN_LINES = 12
CONTEXT_LINE_CAP = 500
# An open block is closed after this many lines, and keeps at most BLOCK_LINE_CAP characters of
# each, so that one endless traceback or unterminated fence cannot hold the stream's memory.
MAX_BLOCK_LINES = 2000
BLOCK_LINE_CAP = 4096
CONTENT_CAP = 256 * 1024
CONTENT_TRUNCATED = "\n…[truncated]"

_default_rules: RuleSet | None = None


def default_rules() -> RuleSet:
    global _default_rules
    if _default_rules is None:
        _default_rules = RuleSet()
    return _default_rules


class Extractor:
    """Feed it decoded output in chunks of any size; it returns the events completed so far."""

    def __init__(self, rules: RuleSet | None = None, *, input_redacted: bool = False):
        self.rules = rules or default_rules()
        # The tap redacts the stream before the recording and the extractor see it; redacting
        # each event again cost more than all the matching.
        self._redact = _unchanged if input_redacted else redact
        self._redact_metadata = not input_redacted
        self.lines = 0
        # The number of the last complete line holding more than white space: a TUI's redraw
        # ends blank lines below a question it still waits at (see Pipeline._one_per_question).
        self.last_text_line = 0
        self._partial = PartialLine()
        self._block: Block | None = None
        # The last complete lines, for the context of events near a chunk start and for idle().
        self._screen: list[str] = []
        self._idle_reported = 0
        self._prompt_line = 0
        self._context_cache = ("", "")
        self._hs_scratch = None
        self._gate_scratch = None
        self._content_cache: tuple[str | None, tuple[str, str | None]] = (None, ("", None))
        # What a block already reported, so that a later summary line repeating it is no second
        # event (pytest's short summary repeats its FAILURES entries).
        self._seen: set[str] = set()

    # --- public API ---------------------------------------------------------------------

    def feed(self, text: str) -> list[Event]:
        nl = text.rfind("\n")
        if nl < 0:
            if text:
                self._partial.append(text)
            return []
        events: list[Event] = []
        start = 0
        if self._partial.raw:
            # The held line ends at this chunk's first newline and is matched on its own:
            # joining it to the whole chunk copied every chunk once more.
            start = text.find("\n") + 1
            events = self._process_region(clean_region(self._partial.take() + text[:start]))
        if start <= nl:
            events += self._process_region(clean_region(text[start : nl + 1]))
        if nl + 1 < len(text):
            self._partial.append(text[nl + 1 :])
        return events

    def idle(self) -> list[Event]:
        """The program went quiet: finish an open diagnostic, and report a prompt it waits at.

        An error that might have had follow-on lines (a caret, a chained traceback) is complete
        once the program stops printing: an agent that reports one error and then thinks for
        a minute must not keep it back. Code fences stay open (models stream them slowly).
        Idle points come from the recorded timing, so a replay of the recording agrees.
        """
        flushed: list[Event] = []
        if self._block is not None and self._block.rule.category != "fence":
            flushed += self._finish(self._block, at_close=True)
            self._block = None
        return flushed + self._idle_prompt()

    def settle(self) -> list[Event]:
        """The program paused briefly (``SETTLE_SECONDS``) at the end of a line: an open block
        that stands complete (``blocks.settles``: a lone error line that might have had a stack
        under it, a traceback past its exception line) is finished now, so that a lone error
        reaches the page in milliseconds rather than at the idle point. A block still under
        way waits for the line that ends it or for ``idle()``; prompts are idle()'s alone."""
        block = self._block
        if block is None or self._partial.raw or not blocks.settles(block):
            return []
        self._block = None
        return self._finish(block, at_close=True)

    def _idle_prompt(self) -> list[Event]:
        partial = self._partial.value()
        if partial.strip():
            lineno, line, before = self.lines + 1, partial, self._screen
        elif self._screen:
            lineno, line, before = self.lines, self._screen[-1], self._screen[:-1]
        else:
            return []
        if lineno in (self._idle_reported, self._prompt_line):
            return []
        context = "\n".join(before[-CONTEXT_LINES:])
        event = self._prompt_event(line, lineno, context)
        if event is None:
            screen = [*before, line]
            meta = parse_menu(screen[-SCREEN_LINES:])
            if meta is not None:
                event = self._make_prompt(
                    self._menu_rule(), meta, lineno, line, "\n".join(screen[-SCREEN_LINES:-1])
                )
        if event is None:
            return []
        self._idle_reported = lineno
        return [event]

    def close(self) -> list[Event]:
        events: list[Event] = []
        raw = self._partial.take()
        if raw:
            events += self._process_region(clean_region(raw + "\n"))
        if self._block is not None:
            events += self._finish(self._block, at_close=True)
            self._block = None
        return events

    # --- the hot path -------------------------------------------------------------------

    def _process_region(self, region: str) -> list[Event]:
        """Match complete clean lines; `region` ends with a newline."""
        events: list[Event] = []
        rules = self.rules
        size = len(region)
        base = self.lines
        # Line numbers are counted lazily from the last position asked about.
        self._region = region
        self._count_pos = 0
        self._count_lines = base
        if rules.every_line:
            candidates = None
        elif rules.hyperscan is not None:
            candidates = self._hyperscan_candidates(region)
        else:
            # An ASCII image of the text with the same offsets (each non-ASCII character becomes
            # one "?"): lowercasing and searching bytes is several times faster than a str
            # that holds a single "✓", and every trigger is ASCII.
            low = region.encode("ascii", "replace").lower()
            starts = set()
            rfind = low.rfind
            for sweep in rules.sweeps:
                for m in sweep.finditer(low):
                    starts.add(rfind(b"\n", 0, m.start()) + 1)
            candidates = sorted(starts)
        masks = None
        if candidates and rules.gate_hyperscan is not None:
            masks = self._gate_masks(region, candidates)
        i = 0
        pos = 0
        while pos < size:
            if self._block is not None:
                while self._block is not None and pos < size:
                    nl = region.find("\n", pos)
                    found, again = self._block_line(region[pos:nl], pos)
                    events += found
                    if again:
                        # The line ended the block; below, it is matched if it is a candidate
                        # (the line after every log error needs no matching of its own).
                        break
                    pos = nl + 1
                continue
            if candidates is not None:
                n = len(candidates)
                while i < n and candidates[i] < pos:
                    i += 1
                if i >= n:
                    break
                pos = candidates[i]
            nl = region.find("\n", pos)
            events += self._match_line(
                region[pos:nl], pos, None if masks is None else masks.get(pos)
            )
            pos = nl + 1
        self.lines = base + region.count("\n")
        # Back over the region's trailing blank lines only: usually none or one.
        end, blank = size - 1, 0
        while end >= 0:
            start = region.rfind("\n", 0, end) + 1
            if region[start:end].strip():
                self.last_text_line = self.lines - blank
                break
            blank += 1
            end = start - 1
        tail = region[-(SCREEN_LINES * 200) :].split("\n")[-SCREEN_LINES - 1 : -1]
        if len(tail) < SCREEN_LINES:
            tail = (self._screen + tail)[-SCREEN_LINES:]
        self._screen = tail
        return events

    def _hyperscan_candidates(self, region: str) -> list[int]:
        """The start of every line with a sweep match, found by hyperscan in one pass."""
        image = region.encode("ascii", "replace")
        starts: set[int] = set()
        add = starts.add
        rfind = image.rfind

        def on_match(_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
            add(rfind(b"\n", 0, end) + 1)

        if self._hs_scratch is None:
            self._hs_scratch = _hyperscan.Scratch(self.rules.hyperscan)
        self.rules.hyperscan.scan(image, match_event_handler=on_match, scratch=self._hs_scratch)
        return sorted(starts)

    def _gate_masks(self, region: str, candidates: list[int]) -> dict[int, int]:
        """The gates in each candidate line, found by hyperscan in one pass over them all:
        {line start: bit mask over ``rules.gate_words``}. A line holding a non-ASCII character
        is left out (its lowercase form may hold ASCII its image does not: "K" (Kelvin) is
        "k"); ``_match_line`` tests its gates itself."""
        find = region.find
        pieces = []
        masks: dict[int, int] = {}
        at: dict[int, int] = {}  # offset in the joined text -> line start in the region
        offset = 0
        for pos in candidates:
            line = region[pos : find("\n", pos)]
            if not line.isascii():
                continue
            pieces.append(line)
            at[offset] = pos
            masks[pos] = 0
            offset += len(line) + 1
        if not pieces:
            return masks
        data = "\n".join(pieces).lower().encode("ascii")
        rfind = data.rfind
        by_offset: dict[int, int] = {}
        get = by_offset.get

        def on_match(gate: int, _start: int, end: int, _flags: int, _context: object) -> None:
            start = rfind(b"\n", 0, end) + 1
            by_offset[start] = get(start, 0) | (1 << gate)

        if self._gate_scratch is None:
            self._gate_scratch = _hyperscan.Scratch(self.rules.gate_hyperscan)
        self.rules.gate_hyperscan.scan(
            data, match_event_handler=on_match, scratch=self._gate_scratch
        )
        for start, mask in by_offset.items():
            masks[at[start]] = mask
        return masks

    def _lineno(self, pos: int) -> int:
        if pos < self._count_pos:
            self._count_pos, self._count_lines = 0, self.lines
        self._count_lines += self._region.count("\n", self._count_pos, pos)
        self._count_pos = pos
        return self._count_lines + 1

    def _context(self, pos: int) -> str:
        region = self._region
        back: list[str] = []
        end = pos - 1
        while len(back) < CONTEXT_LINES and end >= 0:
            start = region.rfind("\n", 0, end) + 1
            back.append(region[start:end][:CONTEXT_LINE_CAP])
            end = start - 1
        if len(back) < CONTEXT_LINES:
            back.extend(
                line[:CONTEXT_LINE_CAP]
                for line in reversed(self._screen[-(CONTEXT_LINES - len(back)) :])
            )
        return "\n".join(reversed(back))

    def _match_line(self, line: str, pos: int, mask: int | None = None) -> list[Event]:
        """The events of one complete line; ``mask``: its gates, when already known."""
        rules = self.rules
        if rules.fence_rules and ("```" in line or "~~~" in line):
            for rule in rules.fence_rules:
                m = rule.pattern.match(line)
                if m:
                    meta = rule.build(m, line)
                    self._open_block(rule, meta, line, pos, rule.severity)
                    return []
        plan = rules.line_plan(line.lower()) if mask is None else rules.mask_plan(mask)
        events: list[Event] = []
        diag_done = prompt_done = False
        metric = None
        for rule, category in plan:
            if diag_done and category == "diag":
                continue
            if category == "diag":
                meta = _matched_fields(rule, line)
                if meta is None:
                    continue
                diag_done = True
                seen = meta.pop("_seen", None)
                if seen is not None and seen in self._seen:
                    continue
                severity = meta.pop("_severity", rule.severity)
                if rule.step is not None:
                    self._open_block(rule, meta, line, pos, severity)
                else:
                    events.append(
                        self._make(
                            rule, meta, severity, self._lineno(pos), None, line, self._context(pos)
                        )
                    )
            elif category == "metric":
                # A line that reports an error or warning is that event, not a measurement
                # (a user's own metric rule still reads it).
                if (diag_done and rule.builtin) or (
                    rule.line_gate is not None and not rule.line_gate(line)
                ):
                    continue
                for m in rule.pattern.finditer(line):
                    if metric is not None and any(
                        a < m.end() and m.start() < b for a, b in metric[2]
                    ):
                        continue  # a name another metric rule already read
                    meta = rule.build(m, line) if rule.build else {}
                    if meta is None:
                        continue
                    if metric is None:
                        metric = (rule, meta, [m.span()], [])
                    else:
                        metric[2].append(m.span())
                        metric[3].append(meta)
            elif category == "prompt" and not prompt_done:
                meta = _matched_fields(rule, line)
                if meta is None:
                    continue
                prompt_done = True
                lineno = self._lineno(pos)
                if lineno in (self._idle_reported, self._prompt_line):
                    continue
                self._prompt_line = lineno
                events.append(self._make_prompt(rule, meta, lineno, line, self._context(pos)))
        if metric is not None:
            events.append(self._metric_event(metric, line, pos))
        return events

    def _metric_event(self, metric: tuple, line: str, pos: int) -> Event:
        """One event for every measurement of a line: the first names it, and with more than
        one, `metrics` lists each one's name, value and unit."""
        rule, meta, _, more = metric
        if more:
            first = {k: meta[k] for k in ("name", "value", "unit") if k in meta}
            meta["metrics"] = [first] + [
                {k: m[k] for k in ("name", "value", "unit") if k in m} for m in more
            ]
        lineno = self._lineno(pos)
        return self._make(rule, meta, rule.severity, lineno, None, line.strip(), self._context(pos))

    # --- blocks ------------------------------------------------------------------------

    def _open_block(self, rule: Rule, meta: dict, line: str, pos: int, severity: str) -> None:
        state = meta.pop("_state", {})
        block = Block(rule, self._lineno(pos), line, self._context(pos), meta, severity)
        block.state.update(state)
        self._block = block

    def _block_line(self, line: str, pos: int) -> tuple[list[Event], bool]:
        """The events the line completes, and whether it must be matched afresh."""
        block = self._block
        result = block.rule.step(block, line[:BLOCK_LINE_CAP])
        if result == TAKE:
            if len(block.lines) < MAX_BLOCK_LINES:
                return [], False
            block.keep = len(block.lines)
            block.state["truncated"] = True
            result = END
        self._block = None
        events = self._finish(block)
        if result == SPLIT:
            meta, severity, state = block.state.pop("next")
            meta["_state"] = state
            self._open_block(block.rule, meta, line, pos, severity)
        return events, result == STOP

    def _finish(self, block: Block, at_close: bool = False) -> list[Event]:
        """The block's event; none for a block that only marks where a section starts."""
        rule = block.rule
        state = block.state
        if state.get("silent"):
            return []
        if (
            at_close
            and rule.step is blocks.step_traceback
            and state.get("phase", "frames") == "frames"
        ):
            block.keep = len(block.lines)
        lines = block.lines[: block.keep]
        end = block.start + len(lines) - 1
        meta = block.metadata
        if rule.category == "fence":
            indent = len(lines[0]) - len(lines[0].lstrip())
            inner = lines[1:-1] if state.get("closed") else lines[1:]
            if indent:
                inner = [ln[indent:] if ln[:indent].isspace() else ln.lstrip() for ln in inner]
            content = "\n".join(inner)
            if not state.get("closed"):
                meta["unterminated"] = True
        else:
            content = "\n".join(lines)
            if rule.step is blocks.step_traceback:
                meta.update(_traceback_meta(lines, state))
        if state.get("truncated"):
            meta["truncated"] = True
        if "test" in meta and rule.step is blocks.step_pytest_section:
            self._seen.add(pytest_key(meta["test"]))
        return [self._make(rule, meta, block.severity, block.start, end, content, block.context)]

    # --- events ------------------------------------------------------------------------

    def _make(
        self,
        rule: Rule,
        meta: dict,
        severity: str,
        start: int,
        end: int | None,
        content: str,
        context: str,
    ) -> Event:
        event_type = meta.pop("_type", rule.event_type)
        name = meta.pop("_rule", rule.name)
        if self._redact_metadata:
            meta = _redacted_values(meta)
        if len(content) > CONTENT_CAP:
            content = content[:CONTENT_CAP] + CONTENT_TRUNCATED
            meta["truncated"] = True
        # Several events of one line (metrics) share their content: check it once.
        if content == self._content_cache[0]:
            content, destructive = self._content_cache[1]
        else:
            raw = content
            content = self._redact(content)
            destructive = self.rules.policy.find_destructive(content)
            self._content_cache = (raw, (content, destructive))
        if event_type == "code_block":
            meta["sha256"] = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
        risk = rule.risk or base_risk(event_type, severity)
        if destructive:
            # A code block only shows a command; anything else that names one is acted on.
            risk = "medium" if event_type == "code_block" and risk == "low" else "high"
            if event_type == "code_block" and rule.risk is None:
                risk = "medium"
            meta.setdefault("command", destructive)
        auto = rule.auto_confirmable if rule.auto_confirmable is not None else risk == "low"
        if destructive and event_type != "code_block":
            auto = False
        return Event(event_type, name, severity, risk, auto, start, start if end is None else end, content,
                     self._redact_context(context), meta)  # fmt: skip

    def _prompt_event(self, line: str, lineno: int, context: str) -> Event | None:
        for rule in self.rules.prompt_rules:
            m = rule.pattern.search(line) if rule.search else rule.pattern.match(line)
            if m is None:
                continue
            meta = rule.build(m, line) if rule.build else {}
            if meta is not None:
                return self._make_prompt(rule, meta, lineno, line, context)
        return None

    def _make_prompt(self, rule: Rule, meta: dict, lineno: int, line: str, context: str) -> Event:
        policy = self.rules.policy
        risk, command = prompt_risk(meta.get("question", line), context, policy)
        if meta.get("secret_input"):
            risk = "high"
        if rule.risk is not None:
            risk = rule.risk
        if command:
            meta["command"] = command
        meta.setdefault("command", None)
        if rule.auto_confirmable is not None and not meta.get("secret_input"):
            # A rule may allow it, never for what cannot be read or destroys something.
            readable = command is not None or risk == "low"
            auto = (
                rule.auto_confirmable
                and readable
                and not (command and policy.find_destructive(command))
            )
        else:
            auto = risk == "low" and not meta.get("secret_input")
        if self._redact_metadata:
            meta = _redacted_values(meta)
        return Event("prompt", rule.name, rule.severity, risk, auto, lineno, lineno, self._redact(line.strip()),
                     self._redact_context(context), meta)  # fmt: skip

    def _redact_context(self, context: str) -> str:
        # Several events of one line (metrics) share a context: redact it once.
        if context != self._context_cache[0]:
            self._context_cache = (context, self._redact(context))
        return self._context_cache[1]

    def _menu_rule(self) -> Rule:
        return _MENU_RULE


def _matched_fields(rule: Rule, line: str) -> dict | None:
    """The fields a diagnostic or prompt rule reads from a line it matches (searched or matched
    at the start, as the rule says), or None when it does not match or its builder declines."""
    m = rule.pattern.search(line) if rule.search else rule.pattern.match(line)
    if m is None:
        return None
    return rule.build(m, line) if rule.build else {}


def _unchanged(text: str) -> str:
    return text


def _redacted_values(value):
    """`value` with every string in it redacted, however deeply it is nested in lists and dicts.

    Metadata holds pieces of the text (a message, a file name, a question, a menu's labels),
    so it is redacted like the content; its keys are the rules' own names.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted_values(item) for item in value]
    return value


_MENU_RULE = Rule("prompt_menu", "prompt", "info", __import__("re").compile(""), category="prompt")


def _traceback_meta(lines: list[str], state: dict) -> dict:
    meta: dict = {}
    if state.get("exc"):
        meta["exception"] = state["exc"]
        meta["message"] = state.get("msg", "")
    if state.get("chain"):
        meta["chained"] = [e for e in state["chain"] if e]
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith('File "'):
            file, _, rest = stripped[6:].partition('", line ')
            number = rest.split(",", 1)[0]
            meta["file"] = file
            if number.isdigit():
                meta["line"] = int(number)
            break
    return meta
