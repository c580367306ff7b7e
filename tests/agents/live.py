"""What the live agent tests share: where the CLIs are, their throwaway homes, a detached tap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from extraction.models import ExtractionEvent
from tests.agents.versions import AIDER_VERSION, CLAUDE_CODE_VERSIONS, CODEX_VERSION
from tests.helpers import wait_for
from tests.programs.mock_model_server import MockModelServer
from tests.sessions.conftest import ROOT
from tests.sessions.helpers import start_tap

# The dashboard's side of a prompt, as the approval tests drive it; the agent tests import it here.
from tests.sessions.test_approvals import decide, staff_client  # noqa: F401

PREFIX = Path(os.environ.get("STREAMTAP_AGENTS_PREFIX") or ROOT / ".cache" / "agents")
API_KEY = "sk-ant-api03-streamtap-mock-0000000000"  # the mock accepts anything
INSTALL_HINT = (
    "the real agent CLIs are not installed: run `make agents` or `tests/agents/install_clis.sh` "
    "(npm @anthropic-ai/claude-code and @openai/codex, PyPI aider-chat, side by side under "
    ".cache/agents; STREAMTAP_AGENTS_PREFIX for another prefix)"
)


# ---- helpers ---------------------------------------------------------------------------------


def cli(name: str, version: str | None = None) -> str:
    """Path of an installed CLI version; fails (never skips) with how to install it."""
    version = version or {"claude": CLAUDE_CODE_VERSIONS[0], "codex": CODEX_VERSION,
                          "aider": AIDER_VERSION}[name]  # fmt: skip
    if name == "aider":
        path = PREFIX / f"aider-{version}" / "bin" / "aider"
    else:
        package = {"claude": "claude-code", "codex": "codex"}[name]
        path = PREFIX / f"{package}-{version}" / "node_modules" / ".bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: {INSTALL_HINT}", pytrace=False)
    try:
        # A cold first start of a node CLI on a loaded CI machine took over 30 s once.
        subprocess.run([str(path), "--version"], capture_output=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"{path} --version failed ({exc}): {INSTALL_HINT}", pytrace=False)
    return str(path)


def prompt_event(rule: str | None, timeout: float = 30.0) -> ExtractionEvent:
    """The first prompt event of this rule (None: any), once its session is waiting at it.

    The row is stored before the session's waiting_for_input state: a decision in between is
    refused (409, "not waiting at this prompt"), as it would be from the dashboard.
    """

    def waiting_prompt():
        prompts = ExtractionEvent.objects.filter(event_type="prompt").order_by("seq")
        event = (prompts.filter(rule=rule) if rule else prompts).first()
        pending = event.session.pending_prompt() if event else None
        return event if pending and pending.get("seq") == event.seq else None

    return wait_for(
        waiting_prompt, timeout, f"a {rule or 'first'} prompt event the session waits at"
    )


def project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    (proj / "build").mkdir(parents=True)
    (proj / "build" / "out.o").write_text("x")
    (proj / "README").write_text("hello\n")
    return proj


def codex_env(
    tap_env: dict, tmp_path: Path, server: MockModelServer, proj: Path, *, trusted: bool = True
) -> dict:
    """A throwaway CODEX_HOME whose model provider is the mock server."""
    home = tmp_path / "home"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    # Codex asks whether to trust the folder only when neither an approval policy nor a
    # sandbox is configured: an untrusted home is what a fresh install has.
    policy = 'approval_policy = "on-request"\nsandbox_mode = "workspace-write"\n'
    (codex_home / "config.toml").write_text(
        f"""model = "mock-model"
model_provider = "mock"
check_for_update_on_startup = false
{policy if trusted else ""}
[model_providers.mock]
name = "Mock"
base_url = "{server.url}/v1"
wire_api = "responses"
env_key = "MOCK_API_KEY"
request_max_retries = 0
stream_max_retries = 0

"""
        + (f'[projects."{proj}"]\ntrust_level = "trusted"\n' if trusted else "")
    )
    # Codex warns on stderr when CODEX_HOME is under the temporary directory ("Refusing to
    # create helper binaries under temporary dir"); a private TMPDIR keeps the run quiet.
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {
        **tap_env,
        "TMPDIR": str(tmp_path / "tmp"),
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "MOCK_API_KEY": "mock",
        "TERM": "xterm-256color",
    }


def claude_env(
    tap_env: dict,
    tmp_path: Path,
    server: MockModelServer,
    proj: Path,
    version: str = "2.1.197",
    *,
    trusted: bool = True,
) -> dict:
    """A throwaway HOME in which onboarding, the API key and the project's trust are done."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".claude.json").write_text(
        json.dumps(
            {
                "hasCompletedOnboarding": True,
                "lastOnboardingVersion": version,
                "theme": "dark",
                "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
                "projects": {
                    str(proj): {
                        "hasTrustDialogAccepted": trusted,
                        "hasCompletedProjectOnboarding": True,
                        "allowedTools": [],
                    }
                },
            }
        )
    )
    return {
        **tap_env,
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "TERM": "xterm-256color",
    }


class Tap:
    """`manage.py tap` run detached: stdin a pipe, stdout not a terminal."""

    def __init__(self, env: dict, cwd: Path, *args: str):
        self.proc = start_tap(env, *args, cwd=cwd, stdin=subprocess.PIPE, start_new_session=True)
        self.terminated = False

    def finish(self, timeout: float = 5.0, *, ctrl_d: bool = True) -> tuple[bytes, bytes]:
        """End the TUI (Ctrl-D twice: typed, then the tap's on end of input) and collect output.

        ``ctrl_d=False``: SIGTERM at once, for a program that would take Ctrl-D as an answer
        (aider reads EOF at its confirm prompt as Enter, i.e. "Yes"). SIGTERM (the tap forwards
        it), then SIGKILL, if it does not exit in time; never leaves the tap running.
        """
        try:
            if not ctrl_d:
                self.terminated = True
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            try:
                self.proc.stdin.write(b"\x04")
                self.proc.stdin.flush()
                time.sleep(0.2)
                self.proc.stdin.close()
            except (OSError, ValueError):
                pass
            self.proc.stdin = None  # communicate() must not flush it
            try:
                return self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.terminated = True
                self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return self.proc.communicate()
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_claude(
    version: str | None,
    tap_env: dict,
    tmp_path: Path,
    server: MockModelServer,
    *tap_args: str,
    ask: str = "Delete the build directory",
    claude_args: tuple[str, ...] = (),
) -> tuple[Path, Tap]:
    """Claude Code (this version; None: the matrix's first) under `tap --pty` with ``tap_args``,
    asked ``ask`` in a fresh project: the project and the running tap."""
    claude = cli("claude", version)
    proj = project(tmp_path)
    env = claude_env(tap_env, tmp_path, server, proj, version or CLAUDE_CODE_VERSIONS[0])
    return proj, Tap(env, proj, "--pty", *tap_args, "--", claude, *claude_args, ask)


def run_codex(
    tap_env: dict,
    tmp_path: Path,
    server: MockModelServer,
    *tap_args: str,
    ask: str = "Delete build",
) -> tuple[Path, Tap]:
    """Codex under `tap --pty` with ``tap_args``, asked ``ask`` in a fresh project: the project
    and the running tap."""
    proj = project(tmp_path)
    env = codex_env(tap_env, tmp_path, server, proj)
    # --no-daemon: otherwise Codex 0.171 starts a shared app-server daemon that outlives it.
    argv = [cli("codex"), "--no-daemon", "-C", str(proj), ask]
    return proj, Tap(env, proj, "--pty", *tap_args, "--", *argv)


def tool_results_then_finish(
    tap: Tap, server: MockModelServer, waiting_for: str, timeout: float = 30.0
) -> list[str]:
    """The tool results the agent sent the mock model, once there are any; the tap is finished
    either way."""
    try:
        return wait_for(server.tool_results, timeout, waiting_for)
    finally:
        tap.finish()


def aider_env(tap_env: dict, tmp_path: Path, server: MockModelServer) -> dict:
    """aider (litellm) against the mock's Chat Completions; no network lookups."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **tap_env,
        "HOME": str(home),
        "OPENAI_API_KEY": "sk-mock",
        "OPENAI_API_BASE": f"{server.url}/v1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # litellm's price list, not fetched
        "TERM": "xterm-256color",
    }


def aider_argv(aider: str, message: str) -> list[str]:
    # diff edit format: a ```bash block is a shell command to offer, not a malformed edit.
    return [aider, "--model", "openai/mock-model", "--edit-format", "diff", "--no-git",
            "--no-check-update", "--no-show-model-warnings", "--analytics-disable",
            "--no-show-release-notes", "--message", message]  # fmt: skip
