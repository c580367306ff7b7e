"""Error rules: each with what it must catch and what it must leave alone."""

from extraction.engine import Extractor


def run(text, rules=None):
    x = Extractor(rules)
    return x.feed(text) + x.close()


def errors(text):
    return [e for e in run(text) if e.event_type == "error"]


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
    (event,) = errors(TRACEBACK)
    assert event.rule == "python_traceback"
    assert (event.line_start, event.line_end) == (2, 7)
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
    (event,) = errors(text)
    assert event.rule == "compiler_error"
    assert (event.line_start, event.line_end) == (1, 3)
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
    (event,) = errors(text)
    assert event.rule == "npm_error" and (event.line_start, event.line_end) == (1, 3)
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
    (event,) = errors(text)
    assert event.rule == "go_panic" and event.severity == "critical"
    assert (event.line_start, event.line_end) == (1, 6)


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
