"""Error rules: each with what it must catch and what it must leave alone."""

import pytest

from extraction.engine import Extractor


def run(text, rules=None):
    x = Extractor(rules)
    return x.feed(text) + x.close()


def errors(text):
    return [e for e in run(text) if e.event_type == "error"]


def the_error(text: str, rule: str, lines: tuple[int, int]):
    """The one error event in the text: of this rule, on these lines (first, last)."""
    (event,) = errors(text)
    assert (event.rule, (event.line_start, event.line_end)) == (rule, lines)
    return event


TRACEBACK = """\
starting
Traceback (most recent call last):
  File "app/main.py", line 10, in <module>
    main()
  File "app/main.py", line 7, in main
    int("x")
ValueError: invalid literal for int() with base 10: 'x'
after
"""


def test_traceback_is_one_event():
    event = the_error(TRACEBACK, "python_traceback", (2, 7))
    assert event.content.startswith("Traceback (most recent call last):")
    assert event.content.endswith("ValueError: invalid literal for int() with base 10: 'x'")
    assert event.metadata["exception"] == "ValueError"
    assert event.metadata["file"] == "app/main.py" and event.metadata["line"] == 7
    assert event.context == "starting"
    assert event.severity == "error" and event.risk_level == "high" and not event.auto_confirmable


def test_chained_traceback_is_one_event():
    text = """\
Traceback (most recent call last):
  File "a.py", line 2, in <module>
    {}["k"]
KeyError: 'k'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "a.py", line 4, in <module>
    raise RuntimeError("boom")
RuntimeError: boom
done
"""
    (event,) = errors(text)
    assert (event.line_start, event.line_end) == (1, 11)
    assert event.metadata["exception"] == "RuntimeError"
    assert event.metadata["chained"] == ["KeyError"]


def test_traceback_cut_off_at_end_of_input_is_still_reported():
    (event,) = errors('Traceback (most recent call last):\n  File "a.py", line 1, in <module>\n')
    assert (event.line_start, event.line_end) == (1, 2)


def test_bare_exception_line_is_an_error():
    (event,) = errors("ValueError: bad value\n")
    assert event.rule == "python_exception" and event.metadata["exception"] == "ValueError"


def test_words_ending_in_error_without_colon_space_are_not_errors():
    assert errors("ValueError\nTheErrorPage:x\nan Error happened\n") == []


def test_compiler_error_includes_caret_lines():
    text = "src/main.c:3:5: error: expected ';' before 'return'\n    3 |     return x\n      |     ^\nnext\n"
    event = the_error(text, "compiler_error", (1, 3))
    assert (
        event.metadata["file"] == "src/main.c"
        and event.metadata["line"] == 3
        and event.metadata["col"] == 5
    )


def test_tsc_error_formats():
    a, b = errors(
        "src/a.ts(3,5): error TS2322: Type 'x' is not assignable.\nsrc/b.ts:4:2 - error TS2304: Cannot find name 'y'.\n"
    )
    assert a.metadata["code"] == "TS2322" and a.metadata["line"] == 3
    assert b.metadata["code"] == "TS2304" and b.metadata["file"] == "src/b.ts"


def test_gcc_fatal_error_is_critical():
    (event,) = errors("x.c:1:10: fatal error: foo.h: No such file or directory\n")
    assert event.severity == "critical"


def test_rust_error_with_arrow_and_gutter_lines():
    text = """\
error[E0308]: mismatched types
 --> src/main.rs:2:18
  |
2 |     let x: i32 = "a";
  |            ---   ^^^ expected `i32`, found `&str`

warning: done
"""
    event = errors(text)[0]
    assert event.rule == "rust_error" and event.metadata["code"] == "E0308"
    assert (event.line_start, event.line_end) == (1, 5)


def test_cargo_error_line():
    (event,) = errors("error: could not compile `demo` due to previous error\n")
    assert event.rule == "error_generic"


def test_npm_err_lines_are_one_event():
    text = "npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry/x\nnpm ERR! 404\nadded 1 package\n"
    the_error(text, "npm_error", (1, 3))
    (event,) = errors("npm error code ERESOLVE\nnpm error while resolving\n")
    assert event.line_end == 2


def test_go_panic_with_goroutine_dump():
    text = """\
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.main()
\t/tmp/x.go:8 +0x1d
exit status 2
ok other
"""
    event = the_error(text, "go_panic", (1, 6))
    assert event.severity == "critical"


def test_go_panic_ends_at_blank_line_followed_by_text():
    text = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/x.go:3\n\nFAIL\tpkg\n"
    (event,) = errors(text)
    assert event.line_end == 5


def test_log_error_formats():
    lines = [
        "2024-01-01 12:00:00,123 ERROR module: msg",
        "2024-01-01 12:00:00,123 - module - ERROR - msg",
        "[ERROR] msg",
        "ERROR: msg",
        "ERROR:root:msg",
        "[2024-01-01T12:00:00Z] [worker-1] ERROR something failed",
        'time=2024-01-01T12:00:00Z level=error msg="db down"',
        '{"ts": 1, "level": "error", "msg": "db down"}',
    ]
    found = errors("\n".join(lines) + "\n")
    assert [e.line_start for e in found] == list(range(1, len(lines) + 1))
    assert all(e.severity == "error" for e in found)


def test_fatal_and_critical_levels_are_critical():
    found = errors("2024-01-01 12:00:00 CRITICAL db: gone\n[FATAL] out of memory\n")
    assert [e.severity for e in found] == ["critical", "critical"]


def test_info_line_mentioning_error_is_not_an_error():
    assert (
        errors("INFO: retrying after error\n2024-01-01 12:00:00 INFO retrying after ERROR\n") == []
    )


def test_generic_error_line():
    (event,) = errors("Error: ENOENT: no such file or directory\n")
    assert event.rule == "error_generic"


def test_pytest_failed_line():
    (event,) = errors("FAILED tests/test_x.py::test_y - AssertionError: 1 != 2\n")
    assert event.rule == "pytest_failed" and event.metadata["test"] == "tests/test_x.py::test_y"


def test_zero_errors_is_not_an_error():
    text = "0 errors\nno errors found\nerrors: 0\nFound 0 errors in 3 files\n"
    assert errors(text) == []


def test_error_words_in_names_and_flags_are_not_errors():
    text = "editing error_handler.py\ncc -Werror -o x x.c\nrun with --no-warnings\nstderr: \n"
    assert errors(text) == []


def test_error_inside_code_block_is_not_an_error():
    text = "```\nError: this is an example\nTraceback (most recent call last):\n```\n"
    events = run(text)
    assert [e.event_type for e in events] == ["code_block"]


def test_destructive_command_in_error_makes_it_high_and_names_it():
    (event,) = errors("Error: refusing to run rm -rf / without --no-preserve-root\n")
    assert event.risk_level == "high" and event.metadata["command"].startswith("rm -rf")


# --- Rust panics ---------------------------------------------------------------------------

RUST_BACKTRACE_NOTE = (
    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
)


def test_rust_panic_is_one_event_with_its_message_and_note():
    text = f"""\
     Running `target/debug/demo`
thread 'main' panicked at src/main.rs:2:5:
boom
{RUST_BACKTRACE_NOTE}
after
"""
    event = the_error(text, "rust_panic", (2, 4))
    assert event.severity == "critical"
    assert event.metadata == {
        "thread": "main",
        "file": "src/main.rs",
        "line": 2,
        "col": 5,
        "message": "boom",
    }


def test_old_rust_panic_has_its_message_on_the_same_line():
    (event,) = errors(
        f"thread 'main' panicked at 'boom', src/main.rs:2:5\n{RUST_BACKTRACE_NOTE}\nafter\n"
    )
    assert event.rule == "rust_panic" and (event.line_start, event.line_end) == (1, 2)
    assert event.metadata["message"] == "boom" and event.metadata["line"] == 2


def test_rust_panic_without_a_note_ends_after_its_message():
    text = "thread 'worker' panicked at src/lib.rs:10:9:\ncalled `Option::unwrap()` on a `None` value\nnext\n"
    (event,) = errors(text)
    assert (event.line_start, event.line_end) == (1, 2)
    assert event.metadata["message"] == "called `Option::unwrap()` on a `None` value"


def test_rust_panic_keeps_assertion_details_and_the_backtrace():
    text = """\
thread 'tests::adds' panicked at src/lib.rs:9:9:
assertion `left == right` failed
  left: 1
 right: 2
stack backtrace:
   0: rust_begin_unwind
             at /rustc/abc/library/std/src/panicking.rs:645:5
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
test tests::adds ... FAILED
"""
    (event,) = errors(text)
    assert (event.line_start, event.line_end) == (1, 8)
    assert event.metadata["thread"] == "tests::adds"


def test_prose_about_panics_is_not_a_rust_panic():
    assert errors("the thread panicked at startup\nit panicked at 'x', once\n") == []


# --- processes killed by a signal, as the shell reports them --------------------------------


@pytest.mark.parametrize(
    "line, signal, core_dumped",
    [
        ("Segmentation fault (core dumped)", "SIGSEGV", True),
        ("Segmentation fault", "SIGSEGV", False),
        ("Segmentation fault: 11", "SIGSEGV", False),
        ("Bus error (core dumped)", "SIGBUS", True),
        ("Killed", "SIGKILL", False),
        ("Killed: 9", "SIGKILL", False),
        ("Aborted (core dumped)", "SIGABRT", True),
    ],
)
def test_shell_reported_signal_death_is_a_critical_error(line, signal, core_dumped):
    (event,) = errors(f"$ ./run\n{line}\n")
    assert event.rule == "killed_by_signal" and event.severity == "critical"
    assert event.metadata == {"signal": signal, "core_dumped": core_dumped}


def test_signal_words_in_prose_are_not_errors():
    text = (
        "the process was not killed\nKilled 3 stale workers\nSegmentation faults are rare\n"
        "bus error handling\nAborted by the user, nothing changed\n"
    )
    assert errors(text) == []


# --- glog / klog ----------------------------------------------------------------------------


def test_glog_error_line():
    (event,) = errors("E0101 12:00:00.000000   123 file.go:42] connection refused\n")
    assert event.rule == "glog_error" and event.severity == "error"
    assert event.metadata == {
        "level": "ERROR",
        "file": "file.go",
        "line": 42,
        "message": "connection refused",
    }


def test_glog_fatal_line_is_critical():
    (event,) = errors("F0101 12:00:00.123456 7 main.cc:10] Check failed: x == y\n")
    assert event.rule == "glog_error" and event.severity == "critical"
    assert event.metadata["level"] == "FATAL"


def test_glog_info_line_is_no_event():
    assert run("I0101 12:00:00.000000   123 file.go:42] retrying after error\n") == []


def test_glog_like_words_are_not_errors():
    assert errors("E0101 is the error code\nE0101 12:00:00 no thread or file\n") == []


# --- log levels after a bracketed prefix ----------------------------------------------------


def test_log_level_after_bracketed_prefixes():
    lines = ["[app] ERROR: x", "[app] [ERROR] x", "[worker-1] [db] FATAL out of memory"]
    found = errors("\n".join(lines) + "\n")
    assert [(e.line_start, e.rule) for e in found] == [(1, "log_error"), (2, "log_error"),
                                                      (3, "log_error")]  # fmt: skip
    assert found[2].severity == "critical"


def test_info_after_a_bracketed_prefix_is_not_an_error():
    assert errors("[app] INFO: retrying after ERROR\n[INFO] [app] ERROR count is 0\n") == []


def test_checkbox_before_a_level_word_is_not_a_log_prefix():
    assert errors("[ ] ERROR messages name the file\n[x] WARN on retries\n") == []


# --- JavaScript / Node ----------------------------------------------------------------------

NODE_CRASH = """\
/app/x.js:1
foo.x
   ^

TypeError: Cannot read properties of undefined (reading 'x')
    at Object.<anonymous> (/app/x.js:1:5)
    at Module._compile (node:internal/modules/cjs/loader:1105:14)

Node.js v18.0.0
"""


def test_node_error_with_stack_frames_is_one_js_error():
    # Node's whole report, from the `file:line` of the throw to its closing `Node.js vNN`.
    event = the_error(NODE_CRASH, "js_error", (1, 9))
    assert event.metadata == {
        "exception": "TypeError",
        "message": "Cannot read properties of undefined (reading 'x')",
        "file": "/app/x.js",
        "line": 1,
        "col": 5,
    }


def test_node_plain_error_with_stack_frames_is_a_js_error():
    (event,) = errors(
        "Error: boom\n    at main (/app/y.js:3:9)\n    at async Promise.all (index 0)\n"
    )
    assert event.rule == "js_error" and event.line_end == 3
    assert event.metadata["exception"] == "Error" and event.metadata["message"] == "boom"


def test_exception_lines_without_js_frames_keep_their_rule():
    (event,) = errors("ValueError: bad\n  detail: x\n")
    assert event.rule == "python_exception" and event.line_end == 2
    (event,) = errors("Error: ENOENT: no such file\n")
    assert event.rule == "error_generic"
    (event,) = errors("java.lang.IllegalStateException: x\n\tat com.x.Y.run(Y.java:10)\n")
    assert event.rule != "js_error"


# --- JVM ----------------------------------------------------------------------------------

JAVA_CRASH = """\
Starting app
Exception in thread "main" java.lang.IllegalStateException: config missing
\tat com.example.Config.load(Config.java:42)
\tat com.example.App.main(App.java:7)
Caused by: java.io.FileNotFoundException: app.yaml (No such file or directory)
\tat java.base/java.io.FileInputStream.open0(Native Method)
\t... 2 more
Shutting down
"""


def test_a_java_exception_with_its_frames_and_causes_is_one_event():
    event = the_error(JAVA_CRASH, "java_exception", (2, 7))
    assert "Caused by: java.io.FileNotFoundException: app.yaml" in event.content
    assert event.metadata == {
        "exception": "java.lang.IllegalStateException",
        "message": "config missing",
        "thread": "main",
        "file": "Config.java",
        "line": 42,
    }


def test_a_kotlin_exception_without_a_thread_header_is_a_jvm_exception():
    (event,) = errors("kotlin.KotlinNullPointerException: boom\n    at MainKt.main(Main.kt:3)\n")
    assert event.rule == "java_exception" and event.line_end == 2
    assert (
        event.metadata["file"] == "Main.kt"
        and event.metadata["exception"] == "kotlin.KotlinNullPointerException"
    )


def test_an_exception_line_without_jvm_frames_is_not_a_java_exception():
    (event,) = errors("ValueError: bad\n    at the end of the file\n")
    assert event.rule == "python_exception"
