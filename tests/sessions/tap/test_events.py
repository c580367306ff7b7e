"""EventRouter: where the extraction's rows go, with fakes of the writer, publisher and prompts."""

from sessions.tap.events import EventRouter, marker_label

from .fakes import Calls, FakeHooks, FakePrompts, FakeWriter, row


def router(**kwargs):
    parts = {"writer": FakeWriter(), "publisher": Calls(), "prompts": FakePrompts(), **kwargs}
    return EventRouter(**parts), parts


def test_rows_go_to_the_writer_then_the_publisher_in_order():
    r, parts = router()
    rows = [row(1), row(2, "warning")]
    r.route(rows)
    assert parts["writer"].named("add_events") == [(rows,)]
    assert parts["publisher"].named("events") == [(rows,)]
    assert parts["prompts"].calls == []


def test_a_prompt_is_decided_before_the_writer_takes_its_row_and_its_states_follow_it():
    prompts = FakePrompts(answer_with={"prompt_decision": "approve"})
    r, parts = router(prompts=prompts)
    r.route([row(1), row(2, "prompt")])
    written = parts["writer"].named("add_events")[0][0]
    # The answer is on the row the writer got.
    assert written[1]["prompt_decision"] == "approve"
    assert [c[0] for c in prompts.calls] == ["on_prompt", "hand_over_states"]


def test_a_prompt_the_agents_hook_already_answered_is_stored_once():
    hooks = FakeHooks(joined={2})
    r, parts = router(hooks=hooks)
    r.route([row(1), row(2, "prompt"), row(3, "prompt")])
    written = parts["writer"].named("add_events")[0][0]
    assert [w["seq"] for w in written] == [1, 3]
    assert parts["writer"].named("add_state")[0][:2] == (
        "prompt_answered_again",
        {"seq": 2, "approved": True},
    )
    assert [c[1] for c in parts["prompts"].calls if c[0] == "on_prompt"] == [3]


def test_a_hooks_own_prompt_does_not_reach_the_prompt_controller():
    r, parts = router(hooks=FakeHooks(own={1}))
    r.route([row(1, "prompt")])
    assert [c[0] for c in parts["prompts"].calls] == ["hand_over_states"]
    assert parts["writer"].named("add_events")[0][0][0]["seq"] == 1


def test_each_event_gets_a_marker_at_its_own_time():
    markers = []
    r, _ = router(markers=markers.extend)
    r.route([row(1, content="Traceback (most recent call last):\n  File x"), row(2, content="")])
    assert markers == [(1.0, "error: Traceback (most recent call last):"), (2.0, "error: r")]


def test_a_marker_label_is_cut_like_the_pipelines():
    assert marker_label(row(1, content="x" * 200)) == "error: " + "x" * 80
