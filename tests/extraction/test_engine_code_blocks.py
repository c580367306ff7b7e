import hashlib

from extraction.engine import Extractor


def run(text):
    x = Extractor()
    return x.feed(text) + x.close()


def test_fenced_block_is_one_event_without_fences():
    (event,) = run("Here:\n```python\nprint('hi')\nx = 1\n```\nafter\n")
    assert event.event_type == "code_block" and event.rule == "code_fence"
    assert (event.line_start, event.line_end) == (2, 5)
    assert event.content == "print('hi')\nx = 1"
    assert event.metadata["language"] == "python"
    assert event.metadata["sha256"] == hashlib.sha256(b"print('hi')\nx = 1").hexdigest()
    assert event.risk_level == "low" and event.auto_confirmable


def test_tilde_fence_and_no_language():
    (event,) = run("~~~\nls\n~~~\n")
    assert event.content == "ls" and event.metadata["language"] == ""


def test_indented_fence_is_dedented():
    (event,) = run("  ```sh\n  echo hi\n  ```\n")
    assert event.content == "echo hi" and event.metadata["language"] == "sh"


def test_no_rules_fire_inside_a_code_block():
    text = "```\nError: x\nloss=0.1\nContinue? [y/N]\nnpm ERR! x\n```\n"
    assert [e.event_type for e in run(text)] == ["code_block"]


def test_rules_fire_again_after_the_block():
    events = run("```\ncode\n```\nError: after\n")
    assert [e.event_type for e in events] == ["code_block", "error"]


def test_unterminated_fence_is_emitted_at_close():
    (event,) = run("```bash\necho 1\necho 2")
    assert event.content == "echo 1\necho 2" and event.metadata["unterminated"] is True


def test_code_block_with_destructive_command_is_medium_risk():
    (event,) = run("```bash\nrm -rf build/\n```\n")
    assert event.risk_level == "medium" and not event.auto_confirmable


def test_inline_triple_backticks_do_not_open_a_block():
    events = run("use ```python``` fences\nError: real\n")
    assert [e.event_type for e in events] == ["error"]
