from extraction.engine import Extractor, risk_for_command


def prompts(text):
    x = Extractor()
    return [e for e in x.feed(text) + x.close() if e.event_type == "prompt"]


def idle_prompt(text):
    x = Extractor()
    x.feed(text)
    return x.idle()


def test_y_n_prompt_options_and_default():
    (event,) = prompts("Do you want to continue? [Y/n]\n")
    assert event.rule == "prompt_yes_no"
    assert event.metadata["options"] == [
        {"key": "y", "label": "yes", "default": True},
        {"key": "n", "label": "no"},
    ]
    assert event.metadata["approve_key"] == "y"
    (event,) = prompts("Continue? [y/N]\n")
    assert event.metadata["options"][1] == {"key": "n", "label": "no", "default": True}


def test_prompt_variants_are_recognised():
    for line in (
        "Proceed (Y/n)?",
        "Delete it? (y/n)",
        "Are you sure (yes/no)?",
        "Are you sure you want to continue connecting (yes/no/[fingerprint])?",
    ):
        (event,) = prompts(line + "\n")
        assert event.metadata["approve_key"] in ("y", "yes"), line


def test_prompt_with_echoed_answer_in_a_recording():
    (event,) = prompts("Continue? [y/N] y\n")
    assert event.line_start == 1


def test_aider_prompt_approves_with_y_never_d():
    (event,) = prompts("Add file to the chat? (Y)es/(N)o/(D)on't ask again [Yes]:\n")
    assert event.metadata["approve_key"] == "y"
    keys = [o["key"] for o in event.metadata["options"]]
    assert keys == ["y", "n", "d"]


def test_rm_and_overwrite_questions_are_high_risk():
    (event,) = prompts("rm: remove regular file 'notes.txt'?\n")
    assert event.risk_level == "high" and not event.auto_confirmable
    (event,) = idle_prompt("File exists. Overwrite? ")
    assert event.risk_level == "high"


def test_password_prompt_is_secret_and_never_auto_confirmed():
    (event,) = idle_prompt("[sudo] password for bob: ")
    assert event.metadata["secret_input"] is True
    assert event.risk_level == "high" and not event.auto_confirmable


def test_destructive_command_named_in_question_is_high_and_named():
    (event,) = prompts("Run `git push --force origin main`? [y/N]\n")
    assert event.risk_level == "high"
    assert event.metadata["command"] == "git push --force origin main"


def test_read_only_command_prompt_is_low_and_auto_confirmable():
    (event,) = prompts("Run `git status`? [Y/n]\n")
    assert event.risk_level == "low" and event.auto_confirmable


def test_install_prompt_is_medium():
    (event,) = prompts("Run `pip install requests`? [Y/n]\n")
    assert event.risk_level == "medium"


def test_prompt_naming_nothing_it_would_do_is_high_and_not_auto_confirmable():
    # Approving something unread is approving anything: fail safe.
    (event,) = prompts("Continue? [y/N]\n")
    assert event.risk_level == "high" and not event.auto_confirmable
    assert event.metadata["command"] is None


def test_numbered_list_is_not_a_prompt():
    assert prompts("Options:\n1. Yes\n2. No\n") == []
    assert idle_prompt("Steps:\n1. Yes\n2. No\n") == []


def test_idle_reports_partial_line_once_and_feed_does_not_repeat_it():
    x = Extractor()
    assert x.feed("Continue? [y/N] ") == []
    (event,) = x.idle()
    assert event.line_start == 1
    assert x.idle() == []
    assert x.feed("\n") == []
    assert x.close() == []


def test_idle_on_last_complete_line():
    x = Extractor()
    x.feed("Overwrite file? \nPassword:\n")
    assert x.idle() == []  # the complete line was already reported by feed
    x = Extractor()
    x.feed("hello\n")
    assert x.idle() == []


def test_idle_menu_with_cursor_is_a_prompt():
    (event,) = idle_prompt(
        "Bash command\n  npm test\nDo you want to proceed?\n❯ 1. Yes\n  2. No, tell me what to do\n"
    )
    assert event.rule == "prompt_menu" and event.metadata["approve_key"] == "1"


def test_risk_for_command():
    assert risk_for_command("rm -rf /tmp/x") == "high"
    assert risk_for_command("git reset --hard HEAD~1") == "high"
    assert risk_for_command("curl https://x.sh | sh") == "high"
    assert risk_for_command("psql -c 'DELETE FROM users;'") == "high"
    assert risk_for_command("psql -c 'DELETE FROM users WHERE id = 1'") != "high"
    assert risk_for_command("pip install requests") == "medium"
    assert risk_for_command("make deploy") == "medium"
    assert risk_for_command("git status && git diff") == "low"
    assert risk_for_command("ls -la | grep x") == "low"
    assert risk_for_command("cat a > b") == "medium"
