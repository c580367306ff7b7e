"""Session rows: ids that work in URLs whatever the agent calls itself; the values the writers
store."""

from __future__ import annotations

import json
import math

import pytest
from django.urls import reverse

from sessions.models import (
    AGENT_NAME_MAX,
    ProcessSession,
    agent_name_for,
    agent_name_from,
    fast_json_dumps,
    is_agent_name,
    json_dumps,
)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("builder", "builder"),
        ("team/bot", "team-bot"),
        ("my tool (v2)", "my-tool-v2"),
        ("  ", "process"),
        ("../../etc", "etc"),
        ("agent✓", "agent"),
        ("ünïcode-agent", "ünïcode-agent"),
        ("x" * 300, "x" * AGENT_NAME_MAX),
    ],
)
def test_agent_names_are_made_from_any_text(text, name):
    assert agent_name_from(text) == name
    assert is_agent_name(name)


@pytest.mark.parametrize("name", ["team/bot", "a b", "", "-lead", "x" * (AGENT_NAME_MAX + 1)])
def test_names_that_would_break_session_urls_are_not_agent_names(name):
    assert not is_agent_name(name)


@pytest.mark.django_db
def test_a_session_started_for_an_unusable_name_gets_a_cleaned_one_and_a_working_url():
    # A remote tap (or an older client) can claim any name: the server cleans it.
    session = ProcessSession.start("team/bot " + "y" * 300, command_line="x")
    assert session.agent_name == agent_name_from("team/bot " + "y" * 300)
    assert session.session_id.startswith("team-bot-yyy")
    assert reverse("st-session-detail", args=[session.session_id]) in session.get_absolute_url()


def test_a_state_change_reads_as_one_line_of_what_matters():
    from sessions.models import state_summary

    metadata = {
        "seq": 9,
        "question": "Delete everything?",
        "command": None,
        "options": [{"key": "y", "label": "yes"}, {"key": "n", "label": "no"}],
        "screen": "a whole screen\n" * 20,
        "signal": None,
        "can_approve": True,
        "after": {"by": "policy"},
        "note": "x" * 200,
    }
    assert state_summary(metadata) == (
        'seq=9 question=Delete everything? options=y/n can_approve=True after={"by":"policy"} '
        "note=" + "x" * 79 + "…"
    )
    assert state_summary({}) == ""


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["python3", "train.py"], "train"),
        (["/usr/bin/python3.12", "-u", "scripts/train.py", "--epochs", "3"], "train"),
        (["python", "-m", "pytest", "-x"], "pytest"),
        (["python3", "-W", "ignore", "-m", "mod"], "mod"),
        (["node", "x.js"], "x"),
        (["node", "--require", "ts-node/register", "app.ts"], "app"),
        (["bash", "x.sh"], "x"),
        (["bash", "-o", "pipefail", "deploy.sh"], "deploy"),
        (["/usr/bin/env", "DEBUG=1", "python3", "train.py"], "train"),
        (["python3", "-c", "print(1)"], "python3"),
        (["bash", "-c", "make test"], "bash"),
        (["python3"], "python3"),
        (["pytest", "-x"], "pytest"),
        (["./tools/build.sh"], "build.sh"),
    ],
)
def test_an_interpreter_command_is_named_after_its_script(argv, name):
    assert agent_name_for(argv) == name


@pytest.mark.parametrize(
    "value",
    [
        {"question": "Proceed (Y/n)?", "approve_key": "y", "command": None},
        {"options": [{"key": "y", "default": True}, {"key": "n", "label": None}]},
        {"text": "naïve ✓ \u2028", "nested": [[1, 2.5, -0.0], {"deep": [None, False]}]},
    ],
)
def test_metadata_is_written_compact_and_unescaped_as_the_json_module_does(value):
    assert fast_json_dumps(value) == json_dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"value": math.nan, "unit": None},
        {"metrics": [{"value": math.inf}, {"value": None}]},
        {1: "a key that is not a string"},
        {"big": 2**70},
        {"lone": "\ud800"},
    ],
)
def test_what_orjson_would_write_otherwise_is_left_to_the_json_module(value):
    assert fast_json_dumps(value) == json_dumps(value)


def test_a_small_float_is_the_same_number_whatever_its_spelling():
    assert json.loads(fast_json_dumps({"lr": 1e-05})) == {"lr": 1e-05}
