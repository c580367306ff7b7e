"""The screen analyzer: prompts found on the rendered screen, the way a person sees them."""

from __future__ import annotations

import base64
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extraction.engine.risk import CommandPolicy
from extraction.engine.screen import KEEP_TAIL_CHARS, MAX_PENDING_CHARS, ScreenAnalyzer, option_kind
from tests.programs import fake_agent_tui as tui

FAKE_TUI = Path(tui.__file__)


def tty_text(text: str) -> str:
    """Plain text as a program writes it to a terminal (the tty turns \\n into \\r\\n)."""
    return text.replace("\n", "\r\n")


def analyze(*chunks: str, cols: int = 80, rows: int = 24, **kwargs) -> tuple[ScreenAnalyzer, list]:
    analyzer = ScreenAnalyzer(cols, rows, **kwargs)
    for chunk in chunks:
        analyzer.feed(chunk)
    return analyzer, analyzer.idle(line_no=42)


def only_prompt(events: list):
    assert len(events) == 1, events
    return events[0]


# ---- each program's prompt, rendered ----


def test_claude_prompt_is_found_from_cursor_addressed_words():
    _, events = analyze("\x1b[?1049h\x1b[?25l", tui.claude_prompt("rm -rf build/"))
    event = only_prompt(events)
    meta = event.metadata
    assert (event.event_type, event.rule, event.severity) == ("prompt", "claude_permission", "info")
    assert meta["program"] == "claude"
    assert meta["question"] == "Do you want to proceed?"
    assert meta["command"] == "rm -rf build/"
    assert meta["description"] == "Remove the build directory"
    assert [o["kind"] for o in meta["options"]] == [
        "approve_once",
        "approve_always",
        "switch_mode",
        "deny",
    ]
    assert meta["approve_key"] == "1" and meta["approve_writes"] == ["1"]
    assert meta["deny_key"] == "\x1b" and meta["deny_writes"] == ["\x1b"]
    assert (event.risk_level, event.auto_confirmable) == ("high", False)
    assert (event.line_start, event.line_end) == (42, 42)
    # The content is the prompt block as a person reads it, with real spaces between words.
    assert "Bash command" in event.content
    assert "Do you want to proceed?\n❯ 1. Yes\n" in event.content
    assert event.content.endswith("Esc to cancel · Tab to amend")
    assert "Do you want to proceed?" in meta["screen"]


def test_claude_prompt_in_a_box_from_older_versions():
    box = tty_text(
        "╭──────────────────────────────────────────────╮\n"
        "│ Bash command                                 │\n"
        "│                                              │\n"
        "│   git status                                 │\n"
        "│   Show working tree status                   │\n"
        "│                                              │\n"
        "│ Do you want to proceed?                      │\n"
        "│ ❯ 1. Yes                                     │\n"
        "│   2. Yes, and don't ask again for git status │\n"
        "│   3. No, and tell Claude what to do (esc)    │\n"
        "╰──────────────────────────────────────────────╯\n"
    )
    event = only_prompt(analyze(box)[1])
    meta = event.metadata
    assert meta["program"] == "claude"
    assert meta["command"] == "git status"
    assert meta["approve_writes"] == ["1"]
    assert [o["kind"] for o in meta["options"]] == ["approve_once", "approve_always", "deny"]
    assert (event.risk_level, event.auto_confirmable) == ("low", True)


def test_codex_prompt_approves_once_with_y_and_never_p():
    _, events = analyze("\x1b[?1049h", tui.codex_prompt("rm -rf build/"))
    event = only_prompt(events)
    meta = event.metadata
    assert event.rule == "codex_permission" and meta["program"] == "codex"
    assert meta["question"] == "Would you like to run the following command?"
    assert meta["command"] == "rm -rf build/"
    assert meta["reason"] == "Delete the build directory"
    assert [(o["shortcut"], o["kind"]) for o in meta["options"]] == [
        ("y", "approve_once"),
        ("p", "approve_always"),
        ("esc", "deny"),
    ]
    assert meta["approve_writes"] == ["y"]
    assert meta["deny_writes"] == ["\x1b"]
    assert event.risk_level == "high"


def test_codex_option_wrapped_over_two_rows_is_one_option():
    _, events = analyze(
        tui.codex_prompt("pytest -q tests/sessions/test_screen.py", cols=60), cols=60
    )
    meta = only_prompt(events).metadata
    assert len(meta["options"]) == 3
    assert meta["options"][1]["label"].endswith("(p)")
    assert meta["approve_writes"] == ["y"]


def test_aider_prompt_is_answered_with_y_then_enter():
    _, events = analyze(tui.aider_prompt("rm -rf build/"))
    event = only_prompt(events)
    meta = event.metadata
    assert event.rule == "aider_confirm" and meta["program"] == "aider"
    assert meta["question"] == "Run shell command?"
    assert meta["command"] == "rm -rf build/"
    assert meta["approve_writes"] == ["y", "\r"]
    assert meta["deny_writes"] == ["n", "\r"]
    assert "d" not in meta["approve_writes"]
    assert event.risk_level == "high"


def test_aider_add_file_prompt_names_the_file():
    screen = tty_text(
        "src/app.py\nAdd file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]: "
    )
    meta = only_prompt(analyze(screen)[1]).metadata
    assert meta["file"] == "src/app.py"
    assert meta["approve_writes"] == ["y", "\r"]


@pytest.mark.parametrize(
    ("last_line", "approve", "deny"),
    [
        ("Do you want to continue? [Y/n] ", "y", "n"),
        ("Proceed (Y/n)? ", "y", "n"),
        ("Are you sure you want to continue connecting (yes/no/[fingerprint])? ", "yes", "no"),
        ("rm: remove regular file 'notes.txt'? ", "y", "n"),
    ],
)
def test_generic_yes_no_prompt_on_the_last_line(last_line, approve, deny):
    event = only_prompt(analyze(tty_text(f"some output\n{last_line}"))[1])
    meta = event.metadata
    assert event.rule == "screen_yes_no" and meta["program"] == "generic"
    assert meta["approve_writes"] == [approve, "\r"]
    assert meta["deny_writes"] == [deny, "\r"]


def test_a_generic_prompt_event_holds_its_question_line_and_the_lines_above_as_context():
    screen = tty_text("KeyError: 'missing'\nosc done\nDelete everything? [y/N] ")
    event = only_prompt(analyze(screen)[1])
    assert event.content == "Delete everything? [y/N]"
    assert event.context == "KeyError: 'missing'\nosc done"


def test_a_destructive_command_just_above_a_generic_prompt_makes_it_high_risk():
    event = only_prompt(analyze(tty_text("rm -rf /srv/data\nContinue? [y/N] "))[1])
    assert event.content == "Continue? [y/N]"
    assert event.risk_level == "high"


def test_prompt_risk_comes_from_the_command():
    risks = {}
    for command in (
        "ls -la",
        "pip install requests",
        "git push --force origin main",
        "make deploy",
    ):
        event = only_prompt(analyze(tui.claude_prompt(command))[1])
        risks[command] = (event.risk_level, event.auto_confirmable)
    assert risks == {
        "ls -la": ("low", True),
        "pip install requests": ("medium", False),
        "git push --force origin main": ("high", False),
        "make deploy": ("medium", False),
    }


def test_policy_overrides_the_default_risk():
    policy = CommandPolicy(low=[("make", r"make\b")])
    event = only_prompt(analyze(tui.claude_prompt("make deploy"), policy=policy)[1])
    assert (event.risk_level, event.auto_confirmable) == ("low", True)


def test_edit_prompt_names_the_file_and_writes_outside_the_project_are_high_risk(tmp_path):
    def edit(path: str):
        screen = tty_text(
            " Edit file\n"
            f"   {path}\n"
            "   -old\n"
            "   +new\n"
            "\n"
            f" Do you want to make this edit to {path}?\n"
            " ❯ 1. Yes\n"
            "   2. Yes, allow all edits during this session (shift+tab)\n"
            "   3. No, and tell Claude what to do differently (esc)\n"
        )
        # Wide enough for the temporary directory's long path on one line.
        return only_prompt(analyze(screen, cols=200, cwd=str(tmp_path))[1])

    inside = edit("src/app.py")
    assert inside.metadata["file"] == "src/app.py"
    assert inside.metadata["program"] == "claude"
    assert inside.risk_level == "medium"
    assert edit("/etc/hosts").risk_level == "high"
    assert edit(f"{tmp_path}/src/app.py").risk_level == "medium"


# ---- answering: never a permanent or mode-switching option ----


@pytest.mark.parametrize(
    ("labels", "approve"),
    [
        (["Yes", "Yes, and don't ask again for rm commands in /repo", "No"], "1"),
        (["Yes, allow all edits during this session (shift+tab)", "Yes", "No"], "2"),
        (["Yes, and switch to auto mode", "Yes, and always allow access", "Yes", "No"], "3"),
        (["Yes, and don't ask again this session", "No"], None),
    ],
)
def test_approve_key_is_never_a_permanent_option(labels, approve):
    menu = "".join(f"{'❯' if i == 0 else ' '} {i + 1}. {label}\n" for i, label in enumerate(labels))
    screen = tty_text(f" Do you want to proceed?\n{menu}\n Esc to cancel\n")
    event = only_prompt(analyze(screen)[1])
    meta = event.metadata
    assert meta["approve_key"] == approve
    permanent = {
        o["key"] for o in meta["options"] if o["kind"] in ("approve_always", "switch_mode")
    }
    assert not permanent & set(meta["approve_writes"])
    if approve is None:
        assert meta["approve_writes"] == [] and not event.auto_confirmable


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("Yes", "approve_once"),
        ("Yes, proceed (y)", "approve_once"),
        ("Yes, and always allow access to build/ from this project", "approve_always"),
        ("Yes, and don't ask again for commands that start with `rm` (p)", "approve_always"),
        ("Yes, and switch to auto mode · shift+tab", "switch_mode"),
        ("No, and tell Codex what to do differently (esc)", "deny"),
        ("Type something else", "other"),
    ],
)
def test_option_kinds(label, kind):
    assert option_kind(label) == kind


# ---- not prompts ----


NOT_PROMPTS = [
    # The user typed "y" and Enter: the cursor has left the question's line.
    pytest.param("Continue? [y/N] y\n", id="answered yes/no question"),
    pytest.param("Continue? [y/N] y\nInstalling...\n$ ", id="yes/no question above newer output"),
    pytest.param("Plan:\n1. Install deps\n2. Run tests\n3. Deploy\n", id="ordinary numbered list"),
    pytest.param(
        "What should we do next?\n1. Install deps\n2. Run tests\n",
        id="numbered list under a question without cursor or cancel hint",
    ),
    pytest.param(
        "Here is what Claude shows:\n"
        "```\n"
        "Do you want to proceed?\n"
        "❯ 1. Yes\n"
        "  2. No\n"
        "Esc to cancel\n"
        "```\n",
        id="prompt inside a fenced code block",
    ),
    pytest.param("Example:\n```\nContinue? [y/N] ", id="yes/no inside a fenced code block"),
    pytest.param(
        " Do you want to proceed?\n ❯ 1. Yes\n   2. No\n Esc to cancel\n"
        + "".join(f"line {i}\n" for i in range(8)),
        id="menu far above newer output",
    ),
]


@pytest.mark.parametrize("text", NOT_PROMPTS)
def test_is_not_a_prompt(text):
    assert analyze(tty_text(text))[1] == []


# ---- one event per appearance ----


def test_same_prompt_is_reported_once_across_idles():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed("\x1b[?1049h" + tui.claude_prompt("rm -rf build/"))
    assert len(analyzer.idle()) == 1
    assert analyzer.idle() == []
    # Moving the selection redraws the menu: still the same prompt.
    analyzer.feed(tui.claude_prompt("rm -rf build/", selected=2))
    assert analyzer.idle() == []


def test_prompt_that_disappears_and_reappears_is_new():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed(tui.claude_prompt("rm -rf build/"))
    assert len(analyzer.idle(1)) == 1
    analyzer.feed("\x1b[H\x1b[2J" + tty_text("Removed build/\n"))
    assert analyzer.idle(2) == []
    analyzer.feed(tui.claude_prompt("rm -rf build/"))
    again = analyzer.idle(3)
    assert len(again) == 1 and again[0].line_start == 3


def test_a_different_prompt_replacing_one_on_screen_is_new():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed(tui.claude_prompt("rm -rf build/"))
    analyzer.idle()
    analyzer.feed(tui.claude_prompt("ls -la"))
    events = analyzer.idle()
    assert [e.metadata["command"] for e in events] == ["ls -la"]


# ---- alternate screen ----


def test_entering_the_alternate_screen_clears_and_leaving_restores():
    analyzer = ScreenAnalyzer(40, 10)
    analyzer.feed(tty_text("$ codex\n"))
    analyzer.feed("\x1b[?1049h")
    assert analyzer.screen_text() == ""
    assert analyzer.in_alt_screen
    analyzer.feed("\x1b[3;3Hfull screen")
    assert analyzer.screen_text().splitlines()[2] == "  full screen"
    analyzer.feed("\x1b[?1049l")
    assert analyzer.screen_text() == "$ codex"
    assert not analyzer.in_alt_screen
    assert analyzer.cursor_position() == (2, 1)


def test_prompt_left_behind_by_the_alternate_screen_is_gone():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed("\x1b[?1049h" + tui.codex_prompt("ls"))
    assert len(analyzer.idle()) == 1
    analyzer.feed("\x1b[?1049l" + tty_text("APPROVED\n"))
    assert analyzer.idle() == []
    assert "Would you like" not in analyzer.screen_text()


def test_sequences_pyte_does_not_know_are_not_drawn_as_text():
    analyzer = ScreenAnalyzer(80, 5)
    analyzer.feed(
        "\x1b[>1u\x1b[<u\x1bP+q544e\x1b\\\x1b[4:3mwavy\x1b[0m \x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\"
    )
    assert analyzer.screen_text() == "wavy link"


# ---- OSC 7501 ----


def test_osc_signal_is_parsed_in_feed_even_split_across_chunks():
    analyzer = ScreenAnalyzer(80, 24)
    msg = base64.b64encode(b"Claude needs your permission to use Bash").decode()
    sequence = f"\x1b]7501;state=blocked:app=claude:kind=permission:msg={msg}\x1b\\"
    analyzer.feed("output" + sequence[:3])
    assert analyzer.signal is None
    analyzer.feed(sequence[3:20])
    analyzer.feed(sequence[20:] + "more")
    assert analyzer.signal["state"] == "blocked"
    assert analyzer.signal["app"] == "claude"
    assert analyzer.signal["kind"] == "permission"
    assert analyzer.signal["msg"] == "Claude needs your permission to use Bash"
    assert analyzer.pending_chars > 0, "feed() only buffers; the screen is rendered at idle"


def test_osc_query_is_not_a_signal():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed("\x1b]7501;?\x07")
    assert analyzer.signal is None


def test_blocked_signal_reports_a_prompt_when_the_screen_shows_none():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed(tty_text("Working...\n") + tui.signal("codex"))
    event = only_prompt(analyzer.idle(5))
    assert event.rule == "osc_permission"
    assert event.metadata["program"] == "codex"
    assert event.metadata["approve_writes"] == ["y"]
    assert event.auto_confirmable is False
    assert event.metadata["signal"]["state"] == "blocked"
    # Still blocked at the next idle: the same wait, not a new prompt.
    assert analyzer.idle() == []
    # The prompt drawn late is the same appearance.
    analyzer.feed(tui.codex_prompt("ls"))
    assert analyzer.idle() == []


def test_signal_and_screen_prompt_together_are_one_event():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed(tui.claude_prompt("rm -rf build/") + tui.signal("claude"))
    event = only_prompt(analyzer.idle())
    assert event.rule == "claude_permission"
    assert event.metadata["signal"]["kind"] == "permission"
    assert analyzer.idle() == []
    # Answered: the program says it runs again, then blocks on a new prompt.
    analyzer.feed("\x1b[H\x1b[2J" + tui.signal("claude", state="running", kind="none"))
    assert analyzer.idle() == []
    analyzer.feed(tui.signal("claude"))
    assert [e.rule for e in analyzer.idle()] == ["osc_permission"]


# ---- cursor, screen text, resize, buffering ----


def test_cursor_position_renders_pending_output_first():
    analyzer = ScreenAnalyzer(80, 24)
    assert analyzer.cursor_position() == (1, 1)
    analyzer.feed("hello\r\nworld")
    assert analyzer.cursor_position() == (2, 6)
    analyzer.feed("\x1b[10;20H")
    assert analyzer.cursor_position() == (10, 20)


def test_cursor_position_stays_on_screen_after_the_last_column():
    analyzer = ScreenAnalyzer(10, 3)
    analyzer.feed("x" * 10)
    assert analyzer.cursor_position() == (1, 10)


def test_screen_text_is_right_stripped_rows():
    analyzer = ScreenAnalyzer(20, 4)
    analyzer.feed("\x1b[2;5Habc   \x1b[4;1Hend")
    assert analyzer.screen_text() == "\n    abc\n\nend"


def test_wide_characters_render_once():
    analyzer = ScreenAnalyzer(20, 2)
    analyzer.feed("日本 ok")
    assert analyzer.screen_text() == "日本 ok"


def test_resize_keeps_rendering_at_the_new_size():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed("before")
    analyzer.resize(100, 30)
    analyzer.feed("\x1b[30;95Hcorner")
    assert analyzer.cursor_position() == (30, 100)
    assert analyzer.screen_text().splitlines()[0] == "before"


def test_feed_only_buffers_until_idle():
    analyzer = ScreenAnalyzer(80, 24)
    for _ in range(1000):
        analyzer.feed("\x1b[1;1Hredraw ")
    assert analyzer.pending_chars == 1000 * len("\x1b[1;1Hredraw ")
    assert analyzer.last_screen == ""
    analyzer.idle()
    assert analyzer.pending_chars == 0
    assert analyzer.last_screen == "redraw"


def test_pending_output_is_capped_and_the_tail_renders_the_screen():
    analyzer = ScreenAnalyzer(80, 24)
    noise = tty_text("x" * 79 + "\n")
    for _ in range(MAX_PENDING_CHARS // len(noise) + 10):
        analyzer.feed(noise)
        assert analyzer.pending_chars <= MAX_PENDING_CHARS
    assert analyzer.truncations == 1
    assert analyzer.pending_chars <= KEEP_TAIL_CHARS + 10 * len(noise)
    analyzer.feed("\x1b[?1049h" + tui.claude_prompt("ls"))
    assert [e.rule for e in analyzer.idle()] == ["claude_permission"]


def test_idle_without_new_output_does_not_render_again():
    analyzer = ScreenAnalyzer(80, 24)
    analyzer.feed(tui.claude_prompt("ls"))
    analyzer.idle()
    screen = analyzer.last_screen
    assert analyzer.idle() == []
    assert analyzer.last_screen is screen


# ---- the fake agent TUI in a real PTY ----


class PtyProgram:
    """The fake TUI on a real PTY, its output fed to a ScreenAnalyzer as the tap would."""

    def __init__(self, *args: str, answer_queries: bool = False):
        self.analyzer = ScreenAnalyzer(80, 24)
        self.answer_queries = answer_queries
        self.output = ""
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_TUI), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master

    def read_until(self, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; output so far: {self.output!r}"
            ready, _, _ = select.select([self.master], [], [], min(remaining, 0.2))
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536).decode(errors="replace")
            except OSError:  # EIO: the program has exited
                data = ""
            if not data:
                assert predicate(), f"program ended; output: {self.output!r}"
                return
            self.output += data
            self.analyzer.feed(data)
            if self.answer_queries:
                self._answer(data)

    def _answer(self, data: str) -> None:
        # What sessions/capture.py does in a detached run.
        for query in re.findall(r"\x1b\[(?:6n|>?0?c)", data):
            if query.endswith("6n"):
                row, col = self.analyzer.cursor_position()
                os.write(self.master, f"\x1b[{row};{col}R".encode())
            else:
                os.write(self.master, b"\x1b[?62;22c")

    def wait_for_prompt(self):
        events: list = []

        def found() -> bool:
            events.extend(self.analyzer.idle())
            return bool(events)

        self.read_until(found)
        return only_prompt(events)

    def type(self, writes: list[str]) -> None:
        # Separate writes, with a pause: Enter is its own keystroke and a lone Esc is not
        # mistaken for the start of an escape sequence.
        for data in writes:
            os.write(self.master, data.encode())
            time.sleep(0.1)

    def last_line(self) -> str:
        """The last line on the (main) screen once the program has left its full-screen view."""
        return self.analyzer.screen_text().splitlines()[-1]

    def finish(self) -> int:
        self.read_until(lambda: self.proc.poll() is not None)
        try:
            self.read_until(lambda: False, timeout=0.5)
        except AssertionError:
            pass
        os.close(self.master)
        return self.proc.wait(5)


def test_fake_tui_stalls_when_nobody_answers_its_queries():
    program = PtyProgram("--query-timeout", "0.3")
    program.read_until(lambda: "stalled" in program.output)
    event = program.wait_for_prompt()
    program.type(event.metadata["approve_writes"])
    assert program.finish() == 0
    assert "stalled: no answer to the cursor position query" in program.output
    assert "APPROVED" in program.output


# The fake TUI's agent styles; its generic yes/no style asks about a harmless command.
AGENT_STYLES = ["claude", "codex", "aider"]


@pytest.mark.parametrize(
    ("style", "command"),
    [*((style, "rm -rf build/") for style in AGENT_STYLES), ("yesno", "ls -la")],
)
def test_approve_writes_answer_each_program_once(style, command):
    program = PtyProgram(
        "--style", style, "--command", command, "--query-timeout", "5", answer_queries=True
    )
    event = program.wait_for_prompt()
    assert event.metadata["program"] == {"yesno": "generic"}.get(style, style)
    program.type(event.metadata["approve_writes"])
    assert program.finish() == 0
    assert "stalled" not in program.output
    assert program.last_line() == "APPROVED"


@pytest.mark.parametrize("style", AGENT_STYLES)
def test_deny_writes_deny(style):
    program = PtyProgram("--style", style, "--query-timeout", "5", answer_queries=True)
    event = program.wait_for_prompt()
    program.type(event.metadata["deny_writes"])
    assert program.finish() == 0
    assert program.last_line() == "DENIED"


@pytest.mark.parametrize(
    "text",
    [
        "x" * 200 + "\r\nshort\r\n" + "y" * 79 + "z",
        "\x1b[5;75Hwraps past the edge of the screen\x1b[1;1Hhome",
        "box ╭──╮ ❯ › · done\r\n日本語 mixed ascii e\u0301 combining",
        "\x1b[?7lno autowrap " * 10 + "\x1b[?7h",
        "\x1b[4hinsert\x1b[1Gmode\x1b[4l" + "\r\n" * 30 + "scrolled",
    ],
)
def test_fast_draw_renders_as_pyte_does(text):
    import pyte

    reference = pyte.Screen(40, 10)
    pyte.Stream(reference).feed(text)
    analyzer = ScreenAnalyzer(40, 10)
    analyzer.feed(text)
    assert analyzer.screen_text() == "\n".join(r.rstrip() for r in reference.display).rstrip("\n")
    assert analyzer.cursor_position() == (
        reference.cursor.y + 1,
        min(reference.cursor.x, 39) + 1,
    )
