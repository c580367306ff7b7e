from extraction.engine import Extractor


def warnings(text):
    x = Extractor()
    return [e for e in x.feed(text) + x.close() if e.event_type == "warning"]


def test_generic_warning_line():
    (event,) = warnings("warning: unused variable: `x`\n  --> src/lib.rs:3:9\n")
    assert event.rule == "warning_generic" and event.line_end == 2
    assert (
        event.severity == "warning" and event.risk_level == "medium" and not event.auto_confirmable
    )


def test_compiler_warning():
    (event,) = warnings("src/a.c:1:2: warning: unused variable 'x' [-Wunused-variable]\n")
    assert event.rule == "compiler_error" and event.metadata["line"] == 1


def test_log_warning_levels():
    found = warnings(
        "2024-01-01 12:00:00 WARN cache: slow\n[WARNING] disk 91% full\nlevel=warn msg=x\n"
    )
    assert [e.metadata["level"] for e in found] == ["WARN", "WARNING", "WARN"]


def test_pip_warning():
    (event,) = warnings(
        "WARNING: You are using pip version 21.0; however, version 24.0 is available.\n"
    )
    assert event.rule == "log_error" and event.event_type == "warning"


def test_python_warning_with_file_prefix_and_source_line():
    text = '/app/x.py:12: DeprecationWarning: use y instead\n  warnings.warn("use y", DeprecationWarning)\nok\n'
    (event,) = warnings(text)
    assert event.rule == "python_warning"
    assert event.metadata["category"] == "DeprecationWarning" and event.metadata["line"] == 12
    assert event.line_end == 2


def test_bare_python_warning():
    (event,) = warnings("UserWarning: something odd\n")
    assert event.metadata["category"] == "UserWarning"


def test_npm_warn_lines_are_one_event():
    (event,) = warnings("npm WARN deprecated a@1\nnpm WARN deprecated b@2\nnpm warn old\ndone\n")
    assert event.rule == "npm_error" and event.line_end == 3


def test_no_warnings_flag_and_warnings_call_in_code_are_not_warnings():
    assert warnings("node --no-warnings app.js\n0 warnings\n") == []
    x = Extractor()
    events = x.feed("```python\nwarnings.warn('x', UserWarning)\nUserWarning: x\n```\n") + x.close()
    assert [e.event_type for e in events] == ["code_block"]


def test_glog_warning_line():
    (event,) = warnings("W0101 12:00:00.000000   123 file.go:42] slow disk\n")
    assert event.rule == "glog_error" and event.metadata["level"] == "WARNING"
