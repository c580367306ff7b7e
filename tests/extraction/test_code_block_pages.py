"""Code blocks traced back: each block has a page (its permalink) listing the events it
occurred as, each linked to its session opened at that event, and a risky block is marked."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from extraction.templatetags.code_blocks import CodeRisk, code_risk
from tests.factories import make_code_block, make_event, make_session

CODE_BLOCKS = reverse("st-code-blocks")
RISKY = "```bash\nrm -rf build/ && make\n```\n"
HOSTILE = '<script>alert("x")</script>\n'


@pytest.fixture
def blocks(db):
    """rm -rf printed twice by codex and once by claude; a harmless block once."""
    codex = make_session("codex", session_id="codex-20261120-100000")
    claude = make_session("claude", session_id="claude-20261120-110000")
    risky = make_code_block(RISKY, language="bash", occurrences=3)
    harmless = make_code_block(HOSTILE, language="html", occurrences=1)
    for session, seq in ((codex, 4), (codex, 9), (claude, 2)):
        make_event(
            session,
            seq=seq,
            event_type="code_block",
            rule="code_fence",
            severity="info",
            risk_level="medium",
            content=risky.content,
            code_block=risky,
        )
    make_event(claude, seq=5, event_type="code_block", rule="code_fence", severity="info",
               risk_level="low", content=harmless.content, code_block=harmless)  # fmt: skip
    return {"risky": risky, "harmless": harmless, "codex": codex, "claude": claude}


def detail_url(block) -> str:
    return reverse("st-code-block-detail", args=[block.sha256])


def test_code_block_pages_need_a_login(client, blocks):
    for url in (CODE_BLOCKS, detail_url(blocks["risky"])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_occurrence_count_and_the_hash_link_to_the_blocks_own_page(client_in, blocks):
    page = client_in.get(CODE_BLOCKS).content.decode()

    url = detail_url(blocks["risky"])
    assert f'href="{url}#occurrences"' in page
    assert re.search(
        rf'<a [^>]*data-field="occurrences" href="{url}#occurrences"[^>]*>3 occurrences<', page
    )
    assert re.search(rf'<a class="mono" data-field="permalink" href="{url}"', page)


def test_a_block_holding_rm_rf_carries_a_high_risk_mark_and_a_harmless_one_none(client_in, blocks):
    page = client_in.get(CODE_BLOCKS).content.decode()

    marks = re.findall(
        r'<span class="badge risk-(\w+) code-risk"[^>]*>([^<]*)<span class="mono">([^<]*)<', page
    )
    assert marks == [("high", "high risk: ", "rm -rf")]


def test_a_blocks_page_lists_every_event_it_occurred_as_with_a_link_that_opens_it(
    client_in, blocks
):
    response = client_in.get(detail_url(blocks["risky"]))

    assert response.status_code == 200
    rows = [(e.session.session_id, e.seq) for e in response.context["occurrences"]]
    assert sorted(rows) == [
        ("claude-20261120-110000", 2),
        ("codex-20261120-100000", 4),
        ("codex-20261120-100000", 9),
    ]
    links = re.findall(r'data-field="event" href="([^"]+)"', response.content.decode())
    assert sorted(links) == [
        "/sessions/claude-20261120-110000/?event=2",
        "/sessions/codex-20261120-100000/?event=4",
        "/sessions/codex-20261120-100000/?event=9",
    ]
    for link in links:  # each permalink opens a page that exists
        assert client_in.get(link).status_code == 200


def test_a_blocks_page_shows_its_code_as_text_with_its_risk_mark(client_in, blocks):
    hostile = client_in.get(detail_url(blocks["harmless"])).content.decode()
    risky = client_in.get(detail_url(blocks["risky"])).content.decode()

    assert "<script>alert" not in hostile and "&lt;script&gt;alert(&quot;x&quot;)" in hostile
    assert 'class="badge risk-high code-risk"' in risky and "code-risk" not in hostile


def test_a_block_whose_events_were_pruned_says_how_many_are_left(client_in, blocks):
    blocks["risky"].events.filter(seq=9).delete()

    page = client_in.get(detail_url(blocks["risky"])).content.decode()

    assert "2 of the 3 occurrences are still stored" in page


def test_an_unknown_block_is_a_404(client_in, blocks):
    assert client_in.get(reverse("st-code-block-detail", args=["0" * 64])).status_code == 404
    assert client_in.get("/code-blocks/not-a-hash/").status_code == 404


@pytest.mark.parametrize(
    "code, expected",
    [
        ("rm -rf /tmp/x\n", CodeRisk("high", "rm -rf")),
        ("git push --force origin main\n", CodeRisk("high", "git push --force")),
        ("DROP TABLE users;\n", CodeRisk("high", "DROP TABLE")),
        ("pip install requests\n", CodeRisk("medium", "pip install")),
        ("curl https://example.com\n", CodeRisk("medium", "curl")),
        ("print('hello')\n", None),
        ("# remove the old files first\nls\n", None),
    ],
)
def test_the_risk_mark_comes_from_the_engines_command_classifier(code, expected):
    assert code_risk(code) == expected
