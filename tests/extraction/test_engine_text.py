"""The line model: ANSI, carriage returns, odd bytes, long lines, and chunking independence."""

import random

from extraction.engine import Extractor
from extraction.engine.text import LINE_CAP, TRUNCATED_MARKER, clean_line, strip_ansi

SAMPLE = """\
\x1b[1;31merror\x1b[0m: could not compile `demo`
Downloading 10%\rDownloading 55%\rDownloading 100%\r
epoch=1 loss=0.5\r\nepoch=2 loss=0.4\r\n
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ZeroDivisionError: division by zero

```python
print("Error: not real")
```
\x1b]0;window title\x07[ERROR] \x1b[33mdisk full\x1b[0m
npm ERR! one
npm ERR! two
Do\x1b[5Gyou\x1b[9Gwant to continue? [y/N]
panic: boom

goroutine 1 [running]:
main.main()
exit status 2
12 passed, 1 failed in 0.53s
nul\x00byte and \ufffd replacement Error: after nul
Tokens used: 1,234
thread 'main' panicked at src/main.rs:2:5:
boom
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
TypeError: x is not a function
    at main (/app/x.js:3:9)
E0101 12:00:00.000000   123 file.go:42] connection refused
Segmentation fault (core dumped)
"""


def run_chunks(text, sizes):
    x = Extractor()
    events = []
    pos = 0
    for size in sizes:
        events += x.feed(text[pos : pos + size])
        pos += size
    events += x.feed(text[pos:])
    events += x.close()
    return events, x.lines


def test_strip_ansi_and_cursor_moves_become_spaces():
    assert strip_ansi("\x1b[31mred\x1b[0m") == "red"
    assert strip_ansi("Do\x1b[5Gyou\x1b[9Gwant") == "Do you want"
    assert strip_ansi("a\x1b[3Cb") == "a b"
    assert strip_ansi("\x1b]0;title\x07text") == "text"
    assert strip_ansi("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert strip_ansi("\x1b(Bplain\x1b=") == "plain"


def test_carriage_return_keeps_the_last_non_empty_segment():
    assert clean_line("Downloading 10%\rDownloading 100%") == "Downloading 100%"
    assert clean_line("done\r") == "done"


def test_cursor_moved_prompt_matches():
    x = Extractor()
    events = x.feed("Do\x1b[5Gyou\x1b[9Gwant to continue? [y/N]\n")
    assert events[0].content == "Do you want to continue? [y/N]"


def test_crlf_is_a_newline_and_line_numbers_count_it():
    x = Extractor()
    events = x.feed("a\r\nb\r\nError: c\r\n") + x.close()
    assert events[0].line_start == 3 and x.lines == 3


def test_same_events_whatever_the_chunking():
    expected, lines = run_chunks(SAMPLE, [])
    assert len(expected) >= 12
    rng = random.Random(7)
    for _ in range(60):
        sizes = [rng.randint(1, 40) for _ in range(rng.randint(1, 200))]
        events, n = run_chunks(SAMPLE, sizes)
        assert events == expected, sizes
        assert n == lines


def test_one_character_at_a_time():
    expected, _ = run_chunks(SAMPLE, [])
    events, _ = run_chunks(SAMPLE, [1] * len(SAMPLE))
    assert events == expected


def test_lines_counts_complete_lines_and_final_partial_after_close():
    x = Extractor()
    x.feed("a\nb\nc")
    assert x.lines == 2
    x.close()
    assert x.lines == 3


def test_nul_and_control_bytes_do_not_break_matching():
    x = Extractor()
    events = x.feed("\x00\x01\x02\x07\x08\x7f\nError: \x00 boom\n\ufffd\ufffd\n") + x.close()
    assert [e.line_start for e in events] == [2]


def test_huge_line_is_capped_and_counted():
    x = Extractor()
    big = "Error: " + "x" * (10 * 1024 * 1024)
    events = []
    for i in range(0, len(big), 65536):
        events += x.feed(big[i : i + 65536])
    events += x.feed("\nError: next\n") + x.close()
    assert [e.line_start for e in events] == [1, 2]
    assert len(events[0].content) <= LINE_CAP + len(TRUNCATED_MARKER)
    assert events[0].content.endswith(TRUNCATED_MARKER)
    assert x.lines == 2


def test_huge_line_in_one_chunk_matches_chunked_result():
    big = "Error: " + "y" * (300 * 1024) + "\nok\n"
    whole, _ = run_chunks(big, [])
    pieces, _ = run_chunks(big, [4096] * (len(big) // 4096))
    assert whole == pieces


def test_endless_progress_bar_stays_bounded():
    x = Extractor()
    for i in range(20000):
        x.feed(f"\rprogress {i}%")
    assert len(x._partial.raw) < 5 * LINE_CAP
    events = x.feed(" Error: nope\n") + x.close()
    assert events == [] and x.lines == 1


def test_context_holds_up_to_three_previous_lines_across_chunks():
    x = Extractor()
    x.feed("one\ntwo\n")
    x.feed("three\nfour\n")
    (event,) = x.feed("Error: five\n") + x.close()
    assert event.context == "two\nthree\nfour"


def test_secrets_are_redacted_in_content_and_context():
    x = Extractor()
    events = x.feed(
        "export API_KEY=abcdef123456\nError: token=ghp_abcdefghijklmnopqrstuvwxyz012345 rejected\n"
    )
    events += x.close()
    assert "ghp_" not in events[0].content and "[REDACTED" in events[0].content
    assert "abcdef123456" not in events[0].context


def test_redaction_gate_matches_exactly_the_trigger_literals():
    import random

    from extraction.engine.redact import _ALL_TRIGGERS, _ANY_TRIGGER_RE

    rng = random.Random(2)
    pieces = [
        *_ALL_TRIGGERS,
        b"-",
        b"s",
        b"k",
        b"g",
        b"h",
        b"_",
        b"p",
        b"a",
        b"x",
        b":",
        b"/",
        b" ",
    ]
    for _ in range(5000):
        text = b"".join(rng.choice(pieces)[: rng.randint(1, 12)] for _ in range(rng.randint(0, 8)))
        expected = any(t in text for t in _ALL_TRIGGERS)
        assert (_ANY_TRIGGER_RE.search(text) is not None) == expected, text
