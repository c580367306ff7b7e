"""Answers to a detached program's terminal queries: the cursor is asked for only when needed."""

from sessions.tap.capture import query_answers


def test_the_cursor_position_query_is_answered_from_the_cursor():
    assert query_answers(b"abc\x1b[6n", lambda: (3, 7)) == [b"\x1b[3;7R"]


def test_other_queries_never_ask_for_the_cursor():
    def cursor():
        raise AssertionError("rendering the screen for a query that does not need it")

    assert query_answers(b"\x1b[5n\x1b[c\x1b[32mgreen\x1b[0m", cursor) == [
        b"\x1b[0n",
        b"\x1b[?62;22c",
    ]
    assert query_answers(b"\x1b[32mok\x1b[0m", cursor) == []
