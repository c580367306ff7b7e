"""Dashboard pages: login required, filters in the URL, hostile output escaped, recording export."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession

HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">y</a>'
)
PAGES = ["st-overview", "st-sessions", "st-events", "st-code-blocks"]


def make_session(session_id: str, agent: str = "codex", **fields) -> ProcessSession:
    return ProcessSession.objects.create(session_id=session_id, agent_name=agent, **fields)


def make_event(session: ProcessSession, seq: int, **fields) -> ExtractionEvent:
    values = {
        "agent_name": session.agent_name,
        "event_type": "error",
        "rule": "python_traceback",
        "severity": "error",
        "risk_level": "medium",
        "line_start": seq,
        "line_end": seq,
        "content": f"event {seq}",
    }
    values.update(fields)
    return ExtractionEvent.objects.create(session=session, seq=seq, **values)


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_a_logged_in_user(client_in, name):
    response = client_in.get(reverse(name))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )


@pytest.mark.parametrize("name", PAGES)
def test_pages_redirect_anonymous_users_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_session_detail_and_recording_need_login(client, db):
    make_session("codex-1", recording_path="/nonexistent")
    assert client.get(reverse("st-session-detail", args=["codex-1"])).status_code == 302
    assert client.get(reverse("st-session-recording", args=["codex-1"])).status_code == 302


def test_session_detail_renders_terminal_and_prompt_panel(client_in):
    session = make_session("codex-20261126-101500", status="waiting_for_input")
    session.change_state("waiting_for_input", prompt="Continue? [y/N]")
    response = client_in.get(reverse("st-session-detail", args=[session.session_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="terminal"' in html
    assert 'id="prompt-panel"' in html
    assert reverse("st-session-recording", args=[session.session_id]) in html
    assert 'id="waiting-banner" hidden' not in html
    assert client_in.get(reverse("st-session-detail", args=["nope"])).status_code == 404


def test_recording_is_streamed_and_missing_ones_are_404(client_in, tmp_path):
    cast = tmp_path / "rec.cast"
    cast.write_text('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "hello\\r\\n"]\n')
    make_session("with-rec", recording_path=str(cast))
    make_session("without-path")
    make_session("gone", recording_path=str(tmp_path / "missing.cast"))
    response = client_in.get(reverse("st-session-recording", args=["with-rec"]))
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == cast.read_bytes()
    assert response["Cache-Control"] == "no-store"
    assert client_in.get(reverse("st-session-recording", args=["without-path"])).status_code == 404
    assert client_in.get(reverse("st-session-recording", args=["gone"])).status_code == 404


def test_sessions_filters_narrow_the_list(client_in):
    yesterday = timezone.now() - timedelta(days=1)
    make_session("codex-a", agent="codex", status="running")
    make_session("claude-b", agent="claude", status="completed", exit_code=0)
    make_session("claude-old", agent="claude", status="failed", started_at=yesterday)
    url = reverse("st-sessions")

    def ids(params):
        return [s.session_id for s in client_in.get(url, params).context["page"]]

    assert set(ids({})) == {"codex-a", "claude-b", "claude-old"}
    assert set(ids({"agent": "claude"})) == {"claude-b", "claude-old"}
    assert ids({"status": "running"}) == ["codex-a"]
    assert ids({"date": timezone.localdate(yesterday).isoformat()}) == ["claude-old"]
    assert ids({"q": "old"}) == ["claude-old"]
    response = client_in.get(url, {"date": "2026-13-40", "status": "bogus"})
    assert response.status_code == 200
    assert response.context["filters"].errors


# The Events page's filters, pages and count: tests/extraction/test_events_views.py.


def test_hostile_output_is_escaped_everywhere(client_in):
    session = make_session("evil-1", command_line=HOSTILE)
    make_event(session, 1, content=HOSTILE, context=HOSTILE, rule="evil")
    CodeBlock.objects.create(sha256="a" * 64, language="html", content=HOSTILE)
    pages = [
        reverse("st-overview"),
        reverse("st-sessions"),
        reverse("st-events"),
        reverse("st-code-blocks"),
        reverse("st-session-detail", args=["evil-1"]),
    ]
    for url in pages:
        html = client_in.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert 'href="javascript:' not in html, url
    events_html = client_in.get(reverse("st-events")).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in events_html


def test_code_blocks_filter_by_language_and_text(client_in):
    CodeBlock.objects.create(sha256="1" * 64, language="python", content="print('hi')")
    CodeBlock.objects.create(sha256="2" * 64, language="bash", content="echo hi")
    url = reverse("st-code-blocks")

    def shas(params):
        return {b.sha256[0] for b in client_in.get(url, params).context["page"]}

    assert shas({}) == {"1", "2"}
    assert shas({"language": "bash"}) == {"2"}
    assert shas({"q": "print"}) == {"1"}


def test_overview_counts_high_risk_pending(client_in):
    session = make_session("codex-1", status="running")
    make_event(session, 1, risk_level="high")
    make_event(session, 2, risk_level="high", review_status="confirmed")
    response = client_in.get(reverse("st-overview"))
    assert response.context["high_risk_pending"] == 1
    assert [s.session_id for s in response.context["live_sessions"]] == ["codex-1"]
    assert sum(sum(v) for v in response.context["per_minute"]["series"].values()) == 2
    assert reverse("admin:index") + "extraction/" in response.content.decode()


def test_a_first_visit_says_how_to_tap_a_first_command(client_in):
    for name in ("st-overview", "st-sessions"):
        html = client_in.get(reverse(name)).content.decode()
        assert "python manage.py tap -- pytest -x" in html, name


def test_filters_that_match_nothing_say_so_rather_than_teach(client_in):
    html = client_in.get(reverse("st-sessions"), {"agent": "nobody"}).content.decode()
    assert "No sessions match these filters." in html
    assert "manage.py tap" not in html


def test_the_overview_puts_programs_waiting_for_an_answer_first(client_in):
    waiting = make_session("claude-1", status="waiting_for_input")
    waiting.state_changes.create(
        state="waiting_for_input", metadata={"seq": 1, "question": f"Run it? {HOSTILE}"}
    )
    make_session("codex-2", status="running")
    html = client_in.get(reverse("st-overview")).content.decode()
    section = html[html.index('id="waiting-prompts"') : html.index('id="stat-high-risk"')]
    assert "claude-1" in section and "codex-2" not in section
    assert "Run it? &lt;script&gt;" in section and "<script>alert" not in section
    assert html.index('id="waiting-prompts"') < html.index('id="stat-high-risk"')


def test_the_overview_hides_the_waiting_list_when_nothing_waits(client_in):
    make_session("codex-2", status="running")
    html = client_in.get(reverse("st-overview")).content.decode()
    assert re.search(r'id="waiting-prompts"[^>]*\bhidden\b', html, re.S)
