"""Fingerprints: the same problem gets the same print, a different problem a different one."""

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from extraction.engine import Extractor
from extraction.engine.fingerprint import (
    exception_line,
    fingerprint,
    normalise,
    normalise_uncached,
    own_frames,
    preview,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def events(text):
    x = Extractor()
    return [e for e in x.feed(text) + x.close() if e.event_type in ("error", "warning")]


def print_of(text):
    (event,) = events(text)
    return fingerprint(event.event_type, event.rule, event.content, event.metadata)


def python_traceback(exception="RuntimeError: could not load configuration", user="alice", n=12):
    return (
        "Traceback (most recent call last):\n"
        f'  File "/home/{user}/app/main.py", line {n}, in <module>\n'
        "    main()\n"
        f'  File "/home/{user}/app/config.py", line {n + 30}, in load\n'
        "    data = json.load(f)\n"
        '  File "/usr/lib/python3.12/json/__init__.py", line 293, in load\n'
        "    return loads(fp.read())\n"
        f"{exception}\n"
    )


# ---- log lines -------------------------------------------------------------------------------


def test_same_error_with_other_numbers_and_timestamps_has_the_same_print():
    a = print_of("2026-03-10 09:12:01,331 ERROR attempt 3 failed after 1532 ms\n")
    b = print_of("2026-03-11 17:40:59,002 ERROR attempt 44 failed after 87 ms\n")
    assert a == b


def test_hex_ids_uuids_addresses_and_quoted_values_do_not_split_a_problem():
    a = print_of(
        "ERROR request 7f3a9c2e1b (trace 9b2f4e1c-0d6e-4a43-9b7e-1f2a3b4c5d6e) to 10.0.0.5:5432 "
        "for 'alice' failed at 0x7ffd1234\n"
    )
    b = print_of(
        "ERROR request 01ab23cd45 (trace 00000000-1111-2222-3333-444444444444) to 10.9.8.7:6543 "
        "for 'bob' failed at 0xdeadbeef\n"
    )
    assert a == b


def test_home_and_temporary_directories_do_not_split_a_problem():
    a = print_of("ERROR cannot open /home/alice/proj/data/input.csv\n")
    b = print_of("ERROR cannot open /home/bob/proj/data/input.csv\n")
    c = print_of("ERROR cannot open /tmp/tmpk3j4h5x/input.csv\n")
    d = print_of("ERROR cannot open /tmp/tmpzz81qa0/input.csv\n")
    assert a == b
    assert c == d


def test_a_different_message_is_a_different_problem():
    assert print_of("ERROR disk full\n") != print_of("ERROR permission denied\n")


def test_the_rule_is_part_of_the_print():
    assert fingerprint("error", "log_error", "x failed", {}) != fingerprint(
        "error", "other_rule", "x failed", {}
    )


def test_metrics_code_blocks_and_prompts_have_no_print():
    for event_type in ("metric", "code_block", "prompt"):
        assert fingerprint(event_type, "any", "loss=0.4", {}) == ""


def test_normalise_shows_what_was_replaced():
    assert normalise("2026-03-10T09:12:01Z retry 3 of 'job-7' at 0x1f") == (
        "<ts> retry <n> of <q> at <hex>"
    )


# normalise() is cached by the message's digit pattern (its digits 2-9 as 1): two messages that
# differ only in those digits must normalise alike, and the cache must give what normalising
# the message itself gives.
MESSAGE_PIECES = st.one_of(
    st.text(alphabet="0123456789abcdefxX:-.,/ '\"\u2018\u2019\u201c\u201dTZ+\n\u0663", max_size=6),
    st.sampled_from(
        [
            "2026-03-10T09:12:01.331Z",
            "2026/03/10 9:12",
            "Tue Mar 10 09:12:01 2026",
            "Mar  3 7:05:09",
            "09:12:01,5",
            "0x1f",
            "1x2f",
            "0xdeadbeef",
            "123e4567-e89b-12d3-a456-426614174000",
            "https://h:8080/p?q=3",
            "/home/u7/x",
            "/tmp/pytest-12/f",
            "deadbeef1",
            "1234567",
            "a1b2c3d",
            "10.0.0.5:5432",
            "v1.2.3",
            "'k 9'",
            "worker-162",
        ]
    ),
)


def with_other_digits(text: str, rng: random.Random) -> str:
    """``text`` with each digit 1-9 replaced by another of 1-9 (0 stays: "0x" is a marker)."""
    return "".join(rng.choice("123456789") if c in "123456789" else c for c in text)


@given(st.lists(MESSAGE_PIECES, max_size=12), st.randoms(use_true_random=False))
def test_messages_that_differ_only_in_their_digits_normalise_alike(pieces, rng):
    message = "".join(pieces)
    other = with_other_digits(message, rng)
    assert normalise_uncached(other) == normalise_uncached(message)
    assert normalise(message) == normalise_uncached(message)
    assert normalise(other) == normalise_uncached(other)


def test_the_cache_gives_what_normalising_gives_on_every_line_of_the_log_corpus():
    lines = [
        line
        for path in sorted(CORPUS.glob("*/*.log"))
        for line in path.read_text(errors="replace").splitlines()
    ]
    assert len(lines) > 1000
    rng = random.Random(7)
    for line in lines:
        assert normalise(line) == normalise_uncached(line), line
        other = with_other_digits(line, rng)
        assert normalise(other) == normalise_uncached(other), other


def test_zero_x_is_not_a_digit_like_the_others():
    # "0x1f" is an address, "1x2f" a number and a word: the cache keeps them apart.
    assert normalise("at 0x1f") == "at <hex>"
    assert normalise("at 1x2f") == "at <n>x<n>f"


# ---- tracebacks ------------------------------------------------------------------------------


def test_python_traceback_from_another_checkout_and_line_numbers_has_the_same_print():
    assert print_of(python_traceback(user="alice", n=12)) == print_of(
        python_traceback(user="ci", n=19)
    )


def test_python_traceback_message_data_does_not_split_it():
    assert print_of(python_traceback("KeyError: 'user_4411'")) == print_of(
        python_traceback("KeyError: 'user_9'")
    )


def test_python_traceback_with_another_exception_is_another_problem():
    assert print_of(python_traceback("RuntimeError: boom")) != print_of(
        python_traceback("ValueError: boom")
    )


def test_python_traceback_keeps_the_programs_own_frames_innermost_first():
    assert own_frames(python_traceback()) == ["app/config.py:load", "app/main.py:<module>"]


def test_jvm_exception_is_grouped_by_type_and_own_frames_not_the_jdk():
    trace = (
        'Exception in thread "main" java.lang.IllegalStateException: bad state {n}\n'
        "\tat java.base/java.util.Objects.requireNonNull(Objects.java:{n})\n"
        "\tat com.example.App.run(App.java:{n})\n"
        "\tat com.example.App.main(App.java:5)\n"
    )
    assert print_of(trace.format(n=10)) == print_of(trace.format(n=99))
    assert own_frames(trace.format(n=1)) == ["com.example.App.run", "com.example.App.main"]


def test_node_error_skips_node_internals_and_node_modules():
    trace = (
        "TypeError: x is not a function\n"
        "    at lib (/srv/app/node_modules/lib/index.js:1:1)\n"
        "    at Object.<anonymous> (/srv/app/index.js:{n}:11)\n"
        "    at Module._compile (node:internal/modules/cjs/loader:1364:14)\n"
    )
    assert own_frames(trace.format(n=3)) == ["app/index.js:Object.<anonymous>"]
    assert print_of(trace.format(n=3)) == print_of(trace.format(n=30))


def test_rust_panics_at_different_places_are_different_problems():
    panic = (
        "thread 'main' panicked at {where}:\n"
        "called `Option::unwrap()` on a `None` value\n"
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
    )
    assert print_of(panic.format(where="src/main.rs:10:5")) == print_of(
        panic.format(where="src/main.rs:12:9")
    )
    assert print_of(panic.format(where="src/main.rs:10:5")) != print_of(
        panic.format(where="src/parse.rs:10:5")
    )


# ---- preview ---------------------------------------------------------------------------------


def test_a_tracebacks_preview_is_its_exception_line():
    (event,) = events(python_traceback())
    assert preview(event.content, event.metadata) == "RuntimeError: could not load configuration"
    assert preview(python_traceback()) == "RuntimeError: could not load configuration"


def test_a_plain_errors_preview_is_its_first_line():
    assert preview("ERROR disk full\nmore detail") == "ERROR disk full"


def test_only_a_first_line_that_says_nothing_gets_an_exception_line_above_it():
    assert exception_line(python_traceback()) == "RuntimeError: could not load configuration"
    assert exception_line("TypeError: x is not a function\n    at f (/a.js:1:1)") == ""
    assert exception_line("ERROR disk full") == ""


def test_a_traceback_after_a_log_line_is_told_apart_by_its_exception():
    def logged(exception):
        return fingerprint("error", "log_error", "ERROR job failed\n" + python_traceback(exception))

    assert logged("KeyError: 'a'") == logged("KeyError: 'b'")
    assert logged("KeyError: 'a'") != logged("ValueError: 'a'")
