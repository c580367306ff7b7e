"""bench/profile_tap.py: reading py-spy's raw samples into each process's top functions."""

from bench.profile_tap import ROOT, top_functions


def test_functions_are_ranked_by_their_own_samples_whatever_the_line(tmp_path):
    raw = tmp_path / "spy.txt"
    here = f"{ROOT}/sessions/tap/framing.py"
    raw.write_text(
        "\n".join(
            [
                f'process 7:"tap";main (manage.py:10);recv ({here}:44) 6',
                f'process 7:"tap";main (manage.py:10);recv ({here}:30) 2',
                'process 7:"tap";main (manage.py:10);executemany '
                "(/x/.venv/lib/python3.11/site-packages/django/db/utils.py:9) 3",
                'process 7:"tap";main (manage.py:10); () 1',
                "not a sample line",
            ]
        )
        + "\n"
    )
    top, total = top_functions(raw)
    assert total == 12
    assert top == [
        ("recv (sessions/tap/framing.py)", 8, 8 / 12),
        ("executemany (django/db/utils.py)", 3, 3 / 12),
        ("(no Python frame)", 1, 1 / 12),
    ]
