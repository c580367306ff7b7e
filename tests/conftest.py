"""The named world shared by the test suite.

- owner: runs agents and reads what streamtap found (an ordinary user);
- reviewer: judges high-risk events (staff);
- outsider: no credentials at all.
"""

import os
from pathlib import Path

from streamtap_site.cli import prepare

# Test runs side by side (pytest-xdist's workers, or two runs at once) share the machine's Redis:
# each gets its own channels and keys, as two installations would (settings.REDIS_PREFIX). Set in
# the environment, so the servers and taps the tests start share it. The test databases are
# already one per process (settings). A worker inherits its controller's environment, so it
# sets its own whatever it inherited.
if os.environ.get("PYTEST_XDIST_WORKER") or "STREAMTAP_REDIS_PREFIX" not in os.environ:
    os.environ["STREAMTAP_REDIS_PREFIX"] = f"streamtap-test-{os.getpid()}"

# As manage.py does, before Django loads settings (which only read): the data directory, its
# 0700/0600 modes and the secret key the test servers and taps share. This is why pyproject
# does not name the settings module: pytest-django would load it before this file.
prepare("pytest")

import django  # noqa: E402

django.setup()

import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from tests.factories import make_token, make_user  # noqa: E402

# `make test` runs `-m "not slow"`, a loop of a few minutes; `make test-all` and CI run these too.
# Whole directories: every test there starts a daphne and Chromium, or drives real agent CLIs.
SLOW_DIRECTORIES = ("agents", "e2e")
# Single tests (path::name, with all their parameters) that took 3 s or more each, measured with
# `pytest --durations` on the 2-core development machine while it was shared (load 8-13; seconds
# below), and those over 4 s in a second measurement once the first ones were marked:
# mostly real taps waiting out a prompt, a timeout or a recovery, and fuzz or property runs.
# Kept in the fast loop although near 3 s: the tap's pipe passthrough, events stored with risk
# and markers, and code blocks deduplicated across sessions (tests/sessions/test_tap_command.py).
SLOW_TESTS = {
    "bench/test_bench_persist.py::test_every_sqlite_method_stores_every_row": 8,
    "extraction/test_groups.py::test_a_resolved_group_that_happens_again_is_reopened": 3,
    "extraction/test_groups.py::test_an_imported_recording_joins_the_groups_of_the_tapped_run": 3,
    "extraction/test_redact.py::test_redact_chunk_equals_redact_over_large_random_chunks": 33,
    "extraction/test_redact.py::test_no_part_of_a_secret_gets_out_whatever_the_cuts_and_pauses": 7,
    "extraction/test_user_rules_linear_time.py::test_extract_with_a_backtracking_rule_finishes_and_still_matches": 5,
    "security/test_ingest_fuzz.py::test_the_batch_serializer_refuses_anything_it_cannot_store": 6,
    "security/test_ingest_fuzz.py::test_the_ingest_endpoint_answers_a_damaged_batch_with_200_or_400": 5,
    "security/test_ingest_fuzz.py::test_the_live_frame_serializer_refuses_anything_malformed": 5,
    "sessions/test_approvals.py::test_a_prompt_is_stored_at_once_so_the_dashboard_can_answer_it_without_waiting": 12,
    "sessions/test_approvals.py::test_python_input_prompt_is_answered_by_policy": 9,
    "sessions/test_approvals.py::test_a_program_that_ends_at_its_prompt_ends_its_state_history_with_its_end": 7,
    "sessions/test_approvals.py::test_the_person_at_the_terminal_can_answer_first": 6,
    "sessions/test_approvals.py::test_only_staff_may_decide": 6,
    "sessions/test_approvals.py::test_deny_from_the_dashboard_sends_escape": 6,
    "sessions/test_approvals.py::test_policy_dry_run_records_what_it_would_answer_without_answering": 6,
    "sessions/test_approvals.py::test_rm_i_prompt_is_found_and_a_timeout_denies_it": 6,
    "sessions/test_approvals.py::test_an_answer_typed_through_a_pipe_ends_its_line_with_a_newline": 5,
    "sessions/test_approvals.py::test_approve_from_the_dashboard_types_the_answer": 5,
    "sessions/test_approvals.py::test_time_blocked_on_prompts_is_reported_per_rule": 5,
    "sessions/test_approvals.py::test_high_risk_prompt_is_never_auto_confirmed_and_times_out_denied": 4,
    "sessions/test_approvals.py::test_the_terminal_title_the_tap_sets_for_a_prompt_is_restored_at_the_end": 4,
    "sessions/test_approvals.py::test_the_end_of_piped_input_never_answers_a_question": 4,
    "sessions/test_approvals.py::test_low_risk_prompt_is_auto_confirmed_with_the_approve_once_key": 4,
    "sessions/tap/test_live_publisher.py::test_frames_swallowed_by_a_silent_drop_are_announced_once_the_program_is_quiet": 5,
    "sessions/test_asciicast_reader_fuzz.py::test_any_recording_gives_events_or_a_recording_error": 12,
    "sessions/test_hangup.py::test_closing_the_terminal_at_a_prompt_ends_the_session_killed_without_a_traceback": 5,
    "sessions/test_lock_contention.py::test_lock_retries_are_silent_and_lose_nothing": 6,
    "sessions/test_prompt_decisions.py::test_a_decision_on_a_superseded_prompt_is_refused_and_pending_lists_the_new_one": 6,
    "sessions/test_prompt_decisions.py::test_confirming_a_waiting_prompt_with_the_admin_bulk_action_types_nothing": 5,
    "sessions/test_prompt_decisions.py::test_keys_typed_at_the_terminal_are_recorded_as_what_they_answered": 5,
    "sessions/test_prompt_decisions.py::test_confirming_a_waiting_prompt_in_the_review_api_types_nothing": 5,
    "sessions/test_prompt_decisions.py::test_auto_confirm_medium_never_answers_a_prompt_whose_command_is_unknown": 4,
    "sessions/test_prompt_decisions.py::test_auto_confirm_medium_answers_a_medium_prompt_whose_command_it_can_read": 3,
    "sessions/test_prune.py::test_a_pruned_tap_session_stays_gone_after_recover": 19,
    "sessions/test_recover_symlinks.py::test_recover_skips_recordings_linked_from_outside_and_adopts_real_orphans": 13,
    "sessions/test_recover_symlinks.py::test_recover_skips_a_spill_file_linked_from_outside": 10,
    "sessions/test_replay.py::test_replay_of_a_running_tap_catches_up_and_follows": 4,
    "sessions/test_secret_hold_back.py::test_a_secret_start_held_past_the_bound_is_stored_redacted_whole": 5,
    "sessions/test_secret_hold_back.py::test_a_secret_split_by_a_pause_reaches_neither_the_database_nor_the_recording": 5,
    "sessions/test_secret_hold_back.py::test_a_password_prompt_is_not_held_back": 3,
    "sessions/test_serve_command.py::test_serve_on_another_port_gets_the_live_stream_of_a_plain_tap": 16,
    "sessions/test_tap_command.py::test_database_down_spills_and_recover_loads_it": 16,
    "sessions/test_tap_command.py::test_a_spill_file_that_cannot_be_loaded_is_reported_and_kept_and_the_others_load": 11,
    "sessions/test_tap_command.py::test_recover_with_nothing_to_do_says_so": 9,
    "sessions/test_tap_command.py::test_recover_after_kill_9_restores_every_event_exactly_once": 6,
    "sessions/test_tap_command.py::test_the_second_tap_loads_the_compiled_matchers_from_the_cache": 6,
    "sessions/test_tap_command.py::test_a_ten_megabyte_line_is_handled": 5,
    "sessions/test_tap_command.py::test_pty_mode_ends_with_the_program_when_a_background_child_keeps_the_terminal": 5,
    "sessions/test_tap_command.py::test_extract_over_the_recording_finds_what_the_tap_stored": 5,
    "sessions/test_tap_command.py::test_the_writer_extraction_and_output_processes_die_with_a_killed_tap": 5,
    "sessions/test_tap_command.py::test_quiet_child_gets_its_events_stored_by_the_timer": 4,
    "sessions/test_tap_command.py::test_binary_output_passes_through_byte_for_byte_and_is_recorded": 4,
    "sessions/test_tap_command.py::test_pty_mode_reads_the_terminal_in_a_process_that_dies_with_a_killed_tap": 4,
    "sessions/test_tap_command.py::test_the_demo_agent_shows_every_kind_of_event_even_without_a_terminal": 3,
}
TESTS_DIR = Path(__file__).resolve().parent


# A test that asks for one of these reaches the database this run was given (DATABASE_URL) and,
# through it, the live bus (STREAMTAP_REDIS_URL). The others (the extractor's specifications, the
# browser tests whose servers keep their own SQLite file, the agent CLIs' screens) run the same
# code whatever the run was given, so `make test-pg` selects these alone (`-m database`).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        # pytest-xdist's controller: its workers inherit this environment, and with the settings
        # module named there pytest-django loads settings in each worker before this file has
        # set the worker's Redis prefix (the tests and their servers then used two prefixes).
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    # The servers and taps a test starts read the environment; this process read its settings.
    assert settings.REDIS_PREFIX == os.environ["STREAMTAP_REDIS_PREFIX"], (
        "settings were loaded before tests/conftest.py chose this process's Redis prefix"
    )


def pytest_collection_modifyitems(config, items):
    slow = pytest.mark.slow
    database = pytest.mark.database
    for item in items:
        if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(item.fixturenames):
            item.add_marker(database)
        try:
            path = item.path.resolve().relative_to(TESTS_DIR).as_posix()
        except ValueError:
            continue  # a test outside tests/ (bench, a file given by path)
        name = f"{path}::{getattr(item, 'originalname', item.name)}"
        if path.split("/", 1)[0] in SLOW_DIRECTORIES or name in SLOW_TESTS:
            item.add_marker(slow)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_credential_throttling_in_process(settings):
    # Every in-process test client is 127.0.0.1, and tests send wrong tokens on purpose: the
    # failure throttle (streamtap_site/throttling.py) is proven against a real server in
    # tests/security/test_throttling.py, and kept out of the way here.
    from django.core.cache import cache

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "bad_token": "100000/m", "bad_login": "100000/m"},
    }
    cache.clear()


@pytest.fixture
def owner(db):
    return make_user("olivia")


@pytest.fixture
def reviewer(db):
    user = make_user("rey", staff=True)
    # What a reviewer needs in the admin: see everything, change events (the review fields).
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["extraction", "tapsessions"],
            codename__regex=r"^(view|change)_",
        )
    )
    return user


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)}")
    return client


@pytest.fixture
def owner_client(owner):
    return _token_client(owner)


@pytest.fixture
def reviewer_client(reviewer):
    return _token_client(reviewer)


@pytest.fixture
def outsider_client():
    return APIClient()


@pytest.fixture
def watcher(db):
    """An ordinary account that only looks at the dashboard pages."""
    return make_user("watcher")


@pytest.fixture
def client_in(client, watcher):
    """Django's test client, logged in as the watcher (a browser on the dashboard pages)."""
    client.force_login(watcher)
    return client


@pytest.fixture
def reviewer_browser(client, reviewer):
    """Django's test client, logged in as the reviewer (the admin's review queues)."""
    client.force_login(reviewer)
    return client
