"""Multi-line events: how an open block decides whether the next line belongs to it.

A step function gets the open block and the next line and answers TAKE (the line belongs,
the block goes on), END (the line belongs and closes the block) or STOP (the line does not
belong: the block ended before it, and the line is matched afresh). `block.keep` is how many
of the collected lines form the event, so that lines taken on trial (the blank line after a
traceback, which may be followed by a chained one) can be given back.
"""

from __future__ import annotations

import re

TAKE, END, STOP = 0, 1, 2
# The line starts the next event of the same kind: the block ends before it and a new block of
# the same rule opens on it, with the metadata, severity and state in `state["next"]`.
SPLIT = 3


class Block:
    __slots__ = ("rule", "start", "lines", "keep", "state", "context", "metadata", "severity")

    def __init__(
        self, rule, start: int, first_line: str, context: str, metadata: dict, severity: str
    ):
        self.rule = rule
        self.start = start
        self.lines = [first_line]
        self.keep = 1
        self.state: dict = {}
        self.context = context
        self.metadata = metadata
        self.severity = severity


def _keep(block: Block, line: str, verdict: int = TAKE) -> int:
    """The line belongs to the event: collected and kept. Returns ``verdict`` for the step."""
    block.lines.append(line)
    block.keep = len(block.lines)
    return verdict


# Lines that continue a compiler diagnostic: indented source/notes, "  |", "5 |", carets.
_CONTINUATION_RE = re.compile(r"[ \t]+\S|\d+ *\||[|^~]")


# cargo's right-aligned status lines are indented too, but start the next step.
_CARGO_STATUS_RE = re.compile(
    r"[ \t]+(?:Compiling|Finished|Running|Checking|Fresh|Building|Doc-tests|Documenting|Downloaded"
    r"|Downloading|Updating|Installing|Installed|Locking|Adding|Blocking|Packaging|Verifying"
    r"|Uploading|Removed|Dirty|Executable|Starting) "
)


def step_indented(block: Block, line: str) -> int:
    """Compiler errors, rustc, node stack traces: indented or gutter lines continue."""
    if _CONTINUATION_RE.match(line) and len(block.lines) < 200 and not _CARGO_STATUS_RE.match(line):
        return _keep(block, line)
    return STOP


# A V8 stack frame: "    at fn (file.js:1:2)", "    at file.js:1:2", "    at new P (<anonymous>)",
# "    at async Promise.all (index 0)". A JVM frame ("\tat a.B.c(B.java:10)") has no column.
_JS_FRAME_RE = re.compile(r"[ \t]+at (?:.*:\d+:\d+\)?|.* \((?:<anonymous>|native|index \d+)\))$")
_JS_LOCATION_RE = re.compile(r"\(?(?P<file>[^\s()]+):(?P<line>\d+):(?P<col>\d+)\)?$")


# A JVM stack frame: `\tat com.example.App.run(App.java:12)`, or `(Native Method)`.
_JVM_FRAME_RE = re.compile(
    r"[ \t]+at [\w$.<>/-]+\((?:(?P<file>[\w$-]+\.(?:java|kt|scala|groovy|clj)):(?P<line>\d+)"
    r"|Native Method|Unknown Source)\)$"
)
# What continues a JVM trace below its frames: the cause's header and the elided frames.
_JVM_MORE_RE = re.compile(
    r"(?:Caused by|Suppressed): \S|[ \t]+\.\.\. \d+ (?:more|common frames omitted)$"
)


def step_exception(block: Block, line: str) -> int:
    """`SomeError: msg` and its indented lines; the stack frames under it name the language.

    Python, JavaScript and the JVM print alike first lines (`TypeError: …`,
    `java.lang.IllegalStateException: …`); only the frames that follow tell them apart, so the
    label is decided here rather than by the rule that matched.
    """
    meta = block.metadata
    first = len(block.lines) == 1
    if meta.get("_rule") == "java_exception" or (first and _JVM_FRAME_RE.match(line)):
        return _step_jvm(block, line)
    wants_location = meta.get("_rule") == "js_error" and "file" not in meta
    if (first or wants_location) and _JS_FRAME_RE.match(line):
        if first:
            meta["_rule"] = "js_error"
            name, _, message = block.lines[0].strip().partition(": ")
            meta.setdefault("exception", name)
            meta.setdefault("message", message)
        # The first frame with a location is where the error was thrown.
        m = _JS_LOCATION_RE.search(line)
        if m:
            meta.update(file=m.group("file"), line=int(m.group("line")), col=int(m.group("col")))
    return step_indented(block, line)


def _step_jvm(block: Block, line: str) -> int:
    meta = block.metadata
    frame = _JVM_FRAME_RE.match(line)
    if len(block.lines) == 1:
        meta["_rule"] = "java_exception"
        head = block.lines[0].strip().removeprefix("Exception in thread ")
        if head.startswith('"'):  # the thread's name
            meta["thread"], _, head = head[1:].partition('" ')
        name, _, message = head.partition(": ")
        meta["exception"] = name  # qualified: java.lang.IllegalStateException
        meta.setdefault("message", message)
    if frame and frame.group("file") and "file" not in meta:
        meta.update(file=frame.group("file"), line=int(frame.group("line")))
    if frame or _JVM_MORE_RE.match(line):
        return _keep(block, line)
    return STOP


# The last line of a panic's report, with or without the backtrace it offers.
_RUST_PANIC_NOTE_RE = re.compile(r"note: .*RUST_BACKTRACE")


def step_rust_panic(block: Block, line: str) -> int:
    """A Rust panic: its message (on the line after since Rust 1.73), indented details (an
    assertion's left and right), a backtrace, and the closing `note: … RUST_BACKTRACE …`."""
    is_note = _RUST_PANIC_NOTE_RE.match(line) is not None
    if block.state.pop("message_next", False) and not is_note:
        block.metadata["message"] = line.strip()
    elif is_note:
        return _keep(block, line, END)
    elif not (line.startswith("stack backtrace:") or (line[:1] in (" ", "\t") and line.strip())):
        return STOP
    return _keep(block, line)


_NPM_RE = re.compile(r"npm (ERR!|error|WARN|warn)(?: |$)")


def npm_kind(level: str) -> str:
    return "error" if level[0] in "Ee" else "warn"


def step_npm(block: Block, line: str) -> int:
    """Consecutive `npm ERR!` (or `npm WARN`) lines are one event."""
    m = _NPM_RE.match(line)
    if m and npm_kind(m.group(1)) == block.state["kind"] and len(block.lines) < 500:
        return _keep(block, line)
    return STOP


_CHAIN_RE = re.compile(
    r"During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:"
)
_EXC_LINE_RE = re.compile(r"(?:[A-Za-z_]\w*\.)*(?P<exc>[A-Za-z_]\w*)(?::(?: (?P<msg>.*))?)?$")
_TRACEBACK_START = "Traceback (most recent call last):"


def step_traceback(block: Block, line: str) -> int:
    state = block.state
    prefix = state.get("prefix", "")
    if prefix:
        if line.startswith(prefix):
            line_rel = line[len(prefix) :]
        elif not line.strip():
            line_rel = ""
        else:
            return STOP
    else:
        line_rel = line
    phase = state.get("phase", "frames")
    if phase == "frames":
        if not line_rel or line_rel[0] in " \t":
            block.lines.append(line)
            return TAKE
        m = _EXC_LINE_RE.match(line_rel)
        if m:
            _keep(block, line)
            state["phase"] = "after_exc"
            state["exc"] = m.group("exc")
            state["msg"] = m.group("msg") or ""
            return TAKE
        return STOP
    if not line_rel.strip():
        if state.get("blanks", 0) >= 2:
            return STOP
        state["blanks"] = state.get("blanks", 0) + 1
        block.lines.append(line)
        return TAKE
    state["blanks"] = 0
    if phase == "after_exc":
        if _CHAIN_RE.match(line_rel):
            block.lines.append(line)
            state["phase"] = "chain"
            return TAKE
        if line_rel[0] in " \t" and line_rel.lstrip()[:1] in ("+", "|"):
            # An exception group prints its sub-exceptions after the final line.
            return _keep(block, line)
        return STOP
    # phase == "chain": a chained traceback must follow.
    if line_rel.startswith(_TRACEBACK_START):
        block.lines.append(line)
        state["phase"] = "frames"
        state.setdefault("chain", []).append(state.get("exc"))
        return TAKE
    return STOP


_GO_FRAME_RE = re.compile(
    r"goroutine \d+|created by |\[signal |panic: |[\w./*()\[\]{}, -]+\(.*\)\s*$"
)


def step_go_panic(block: Block, line: str) -> int:
    state = block.state
    if not line.strip():
        if state.get("blank"):
            return STOP
        state["blank"] = True
        block.lines.append(line)
        return TAKE
    if line.startswith("exit status "):
        return _keep(block, line, END)
    if line[0] in " \t" or _GO_FRAME_RE.match(line):
        state["blank"] = False
        return _keep(block, line)
    return STOP


def _take(block: Block, line: str) -> int:
    block.lines.append(line)
    if line.strip():
        block.keep = len(block.lines)
    return TAKE


# Searched, not matched after ".*": its literal start lets the search skip along the line.
_PG_DETAIL_RE = re.compile(r"\] (?:STATEMENT|DETAIL|HINT|CONTEXT|QUERY|LOCATION):  ")
_JVM_HEAD_RE = re.compile(r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|$)")


def step_log_record(block: Block, line: str) -> int:
    """A log line's own continuation: the stack trace a logger prints under it (JVM frames,
    a Python traceback), PostgreSQL's STATEMENT/DETAIL lines, or indented message lines."""
    state = block.state
    mode = state.get("mode")
    if mode == "traceback":
        return step_traceback(block, line)
    if mode in (None, "jvm") and (
        _JVM_FRAME_RE.match(line)
        or _JVM_MORE_RE.match(line)
        or (mode is None and _JVM_HEAD_RE.match(line))
    ):
        state["mode"] = "jvm"
        return _take(block, line)
    if mode is None and line.startswith(_TRACEBACK_START):
        state["mode"] = "traceback"
        block.lines.append(line)
        return TAKE
    if mode in (None, "pg") and _PG_DETAIL_RE.search(line):
        state["mode"] = "pg"
        return _take(block, line)
    if (
        state.get("indented")
        and mode in (None, "indented")
        and line[:1] in (" ", "\t")
        and line.strip()
    ):
        state["mode"] = "indented"
        return _take(block, line)
    return STOP


_PYTEST_SECTION_END_RE = re.compile(r"={3,} .* ={3,}$|-- Docs: ")
_PYTEST_HEADER_RE = re.compile(r"_{3,} (?P<test>.+?) _{3,}$")


def step_pytest_section(block: Block, line: str) -> int:
    """pytest's FAILURES and ERRORS sections (one error per `____ test ____` header, to the next)
    and its warnings summary (one warning per entry: the test ids and the indented lines)."""
    if _PYTEST_SECTION_END_RE.match(line):
        return STOP
    state = block.state
    section = state["section"]
    if section == "warnings summary":
        if line.strip() and line[0] not in " \t":
            meta = {"test": line.strip(), "_type": "warning", "_rule": "pytest_warning"}
            state["next"] = (meta, "warning", {"section": section})
            return SPLIT
    else:
        m = _PYTEST_HEADER_RE.match(line)
        if m:
            state["next"] = (
                {"test": m.group("test"), "_rule": "pytest_failure"},
                "error",
                {"section": section},
            )
            return SPLIT
    return _take(block, line)


_RULER_RE = re.compile(r"(?:={20,}|-{20,})$")


def step_unittest(block: Block, line: str) -> int:
    """unittest's `FAIL: test (…)` report: the ruler under it, then everything to the next ruler."""
    if _RULER_RE.match(line):
        if len(block.lines) == 1:
            block.lines.append(line)
            block.keep = 2
            return TAKE
        return STOP
    return _take(block, line)


_NODE_FRAME_RE = re.compile(r"[ \t]+at ")
_NODE_ERROR_LINE_RE = re.compile(r"(?P<exc>[A-Z]\w*)(?: \[\w+\])?: (?P<msg>.*)")


def step_node_report(block: Block, line: str) -> int:
    """Node's report of an uncaught exception: `file.js:N` or `node:assert:N`, the source line and
    caret, the error, its stack, its properties in braces, and the closing `Node.js vNN`."""
    state = block.state
    meta = block.metadata
    if "exception" not in meta and not state.get("frames"):
        m = _NODE_ERROR_LINE_RE.match(line)
        if m:
            meta.update(exception=m.group("exc"), message=m.group("msg"))
    if state.get("located") is None and _NODE_FRAME_RE.match(line):
        # The first frame with a location is where the error was thrown.
        m = _JS_LOCATION_RE.search(line)
        if m:
            state["located"] = True
            meta.update(file=m.group("file"), line=int(m.group("line")), col=int(m.group("col")))
    if line.startswith("Node.js v"):
        return _keep(block, line, END)
    if _NODE_FRAME_RE.match(line):
        state["frames"] = True
    elif state.get("frames") and line.strip() and line[0] not in " \t}":
        return STOP
    if len(block.lines) >= 400:
        return STOP
    return _take(block, line)


def step_node_warning(block: Block, line: str) -> int:
    """`(node:123) Warning: …` and the `(Use `node --trace-warnings …`)` line after it."""
    if line.startswith("(Use `node --trace"):
        return _keep(block, line, END)
    return STOP


_LINKER_MORE_RE = re.compile(r".*undefined reference to |collect2: error: |\S*ld: .*: in function ")


def step_linker(block: Block, line: str) -> int:
    """The linker's undefined references and collect2's closing `ld returned 1 exit status`."""
    if _LINKER_MORE_RE.match(line) and len(block.lines) < 200:
        return _take(block, line)
    return STOP


def step_fence(block: Block, line: str) -> int:
    fence = block.state["fence"]
    stripped = line.strip()
    if stripped.startswith(fence) and stripped == fence[0] * len(stripped):
        block.state["closed"] = True
        return _keep(block, line, END)
    return _keep(block, line)


# The steps whose block, once it has its first line, may end at a short pause: a log line or a
# diagnostic that stands complete on its own and whose continuation (a stack, a caret, the next
# `npm ERR!`) a program writes at the same moment. A traceback counts once it has its exception
# line. The rest (sections, panics, reports, fences, user rules) wait for a line that ends them
# or for the idle point.
_SETTLING_STEPS = frozenset(
    {step_log_record, step_indented, step_exception, step_npm, step_node_warning, step_linker}
)


def settles(block: Block) -> bool:
    """Whether the open block is complete as it stands when the program pauses briefly."""
    step = block.rule.step
    state = block.state
    if step is step_traceback or (step is step_log_record and state.get("mode") == "traceback"):
        return state.get("phase") == "after_exc"
    return step in _SETTLING_STEPS and len(block.lines) == 1


def make_user_step(until: re.Pattern | None, while_: re.Pattern | None, max_lines: int):
    def step_user(block: Block, line: str) -> int:
        if len(block.lines) >= max_lines:
            return STOP
        if while_ is not None and not while_.search(line):
            return STOP
        _keep(block, line)
        if until is not None and until.search(line):
            return END
        return TAKE if len(block.lines) < max_lines else END

    return step_user
