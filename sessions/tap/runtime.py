"""A tap: one wrapped program, its recording, its extraction, its writer and its live publisher.

The parts and who calls whom (each built from explicit arguments, each testable alone):

    ChildRunner (reader thread) ──▶ RecordingFront: redact, record, publish output
                                         │ chunks + idle points (an outbox, never waits)
                                         ▼
                                   ExtractionProcess (forked, niced): Pipeline → rows
                                         │ rows (its receiving thread)
                                         ▼
                                   EventRouter ──▶ PromptController / AgentHooks
                                         ├──────▶ WriterProcess (forked; the only one that
                                         │        writes the session's rows, see below)
                                         └──────▶ LivePublisher (thread)

Row ownership: the writer process inserts the session, its events and state changes. The prompt
controller's thread touches one column group only, the prompt event's ``prompt_decision*``
fields, through a conditional UPDATE (``WHERE prompt_decision IS NULL``) that the dashboard uses
too: first answer wins, whoever writes it, so there is no lost update between the two. It reads
a dashboard decision with one query per poll while a prompt waits, and nothing otherwise.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

# From the modules, not the package: the package loads its names lazily, and once its submodule
# ``redact`` is imported, ``extraction.engine.redact`` is that module, not the function.
from extraction.engine.pipeline import Pipeline
from extraction.engine.redact import StreamRedactor, redact
from extraction.engine.rules_toml import load_rules

from ..live import server_url
from ..models import SessionStatus, agent_name_for, agent_name_from
from ..persistence import BatchWriter, SessionSpec
from ..recording import AsciicastWriter, recording_path_for
from ..remote import RemoteWriter
from ..transcripts import PARSERS, TranscriptTail
from .agent_hooks import HOOKED_KINDS, AgentHooks, agent_channels, agent_kind
from .approvals import PromptController
from .capture import ChildRunner, exit_status, terminal_size
from .events import EventRouter
from .extraction_process import ExtractionProcess
from .front import RecordingFront
from .publisher import (
    LivePublisher,
    NullTransport,
    WebsocketTransport,
    default_transport,
    ingest_auth_headers,
)
from .writer_process import WriterProcess

# Environment variables worth keeping with a session (the rest may hold secrets or noise).
ENV_ALLOWLIST = (
    "TERM",
    "SHELL",
    "LANG",
    "LC_ALL",
    "USER",
    "LOGNAME",
    "HOME",
    "PWD",
    "VIRTUAL_ENV",
    "CONDA_DEFAULT_ENV",
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "COLUMNS",
    "LINES",
    "TMUX",
    "SSH_CONNECTION",
    "EDITOR",
    "NODE_ENV",
    "PYTHONPATH",
)


@dataclass
class TapOptions:
    argv: list[str]
    agent_name: str = ""
    use_pty: bool | None = None  # None: PTY when stdout is a terminal
    rules_file: str = ""
    redact_recording: bool = True
    recordings_dir: str = ""
    batch_size: int = 100
    batch_seconds: float = 5.0
    live: bool = True
    server_url: str = ""
    api_token: str = ""
    title: str = ""
    auto_confirm: str | None = None  # "low" | "medium"
    policy_dry_run: bool = False
    prompt_timeout: float = 0.0
    agent_kind: str | None = None  # claude | codex | aider | generic; None: by program name


@dataclass
class TapResult:
    exit_code: int
    signal: int | None
    session_id: str | None
    recording_path: str
    events: int
    lines: int
    stored: bool
    spill_path: str | None


class Tap:
    def __init__(
        self, options: TapOptions, *, stdin_fd: int = 0, stdout_fd: int = 1, stderr_fd: int = 2
    ):
        self.options = options
        self.stdin_fd, self.stdout_fd, self.stderr_fd = stdin_fd, stdout_fd, stderr_fd
        conf = settings.STREAMTAP
        self.agent_name = (
            agent_name_from(options.agent_name)
            if options.agent_name
            else agent_name_for(options.argv)
        )
        self.rules = load_rules(options.rules_file or conf["RULES_FILE"] or None)
        self.started_at = time.time()
        recordings_dir = options.recordings_dir or conf["RECORDINGS_DIR"]
        self.recording_path = recording_path_for(recordings_dir, self.agent_name, self.started_at)
        use_pty = options.use_pty
        if use_pty is None:
            use_pty = os.isatty(stdout_fd)
        self.use_pty = use_pty
        self.remote = bool(options.server_url and options.api_token)

    def run(self) -> TapResult:
        opts = self.options
        conf = settings.STREAMTAP
        publisher = self._publisher()
        spec = self._spec()
        size = terminal_size(self.stdout_fd) or terminal_size(self.stdin_fd)
        cols, rows = (size.cols, size.rows) if size else (80, 24)
        # Both helper processes are forked now, while this process has no thread yet.
        extraction = ExtractionProcess(
            self._pipeline(cols, rows),
            answer_queries=self.use_pty and not os.isatty(self.stdout_fd),
        )
        extraction.start()
        writer = WriterProcess(
            self._writer_factory(spec), on_session=self._on_session(publisher, spec)
        )
        writer.start()
        self.writer, self.publisher, self.extraction = writer, publisher, extraction
        recorder = self._recorder(cols, rows, writer)
        front = RecordingFront(
            extraction=extraction,
            redactor=StreamRedactor() if opts.redact_recording else None,
            recorder=recorder,
            on_output=publisher.output,
        )
        # The agent's hooks for this run only: its command line and environment carry them.
        self.kind = kind = agent_kind(opts.argv, opts.agent_kind)
        self.transcript = TranscriptTail(kind, argv=opts.argv, cwd=os.getcwd(),
                                         started_at=self.started_at) if kind in PARSERS else None  # fmt: skip
        self.hooks = hooks = self._agent_hooks(kind)
        if kind != "generic":
            channels = agent_channels(kind, hooks, self.transcript)
            writer.add_state("agent_channels", channels, time.time())
        runner = ChildRunner(
            hooks.argv(opts.argv) if hooks else opts.argv,
            front,
            use_pty=self.use_pty,
            stdin_fd=self.stdin_fd,
            stdout_fd=self.stdout_fd,
            stderr_fd=self.stderr_fd,
            on_resize=lambda offset, size: front.resize(offset, size.cols, size.rows),
            env={**os.environ, **hooks.env()} if hooks else None,
            on_tick=lambda offset: self._tick(),
        )
        self.runner, self.front, self.recorder = runner, front, recorder
        self.prompts = prompts = PromptController(
            send_input=runner.send_input,
            writer=writer,
            publisher=publisher,
            auto_confirm=opts.auto_confirm,
            dry_run=opts.policy_dry_run,
            timeout=opts.prompt_timeout or conf["PROMPT_TIMEOUT"],
            notify_fd=self.stdout_fd,
            use_database=not self.remote,
        )
        router = EventRouter(
            writer=writer, publisher=publisher, prompts=prompts, hooks=hooks, markers=front.markers
        )
        extraction.listen(
            on_rows=router.route,
            on_input=runner.send_input,
            on_prompt_passed=prompts.on_program_went_on,
        )
        runner.answer_queries = extraction.query
        runner.on_input = prompts.on_terminal_input
        # The end of piped input waits for a quiet moment with no prompt open: one the
        # extraction may still be about to find counts as open.
        runner.prompt_waiting = lambda: prompts.is_waiting() or not extraction.caught_up()
        runner.types_eof = self.kind == "generic"
        try:
            pid = runner.start()
        except OSError as exc:
            recorder.close()
            writer.abandon()
            extraction.abandon()
            if hooks is not None:
                hooks.close()
            # The shell's codes: 127 when there is no such program, 126 when it cannot run.
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            raise TapError(
                f"cannot run {opts.argv[0]!r}: {exc.strerror or exc}", exit_code=code
            ) from exc
        self.spec.pid = pid
        writer.set_pid(pid)
        publisher.start()
        try:
            returncode = runner.run()
        finally:
            if self.transcript is not None:
                self._tick()  # the hooks' last events first, then the transcript's rest
                extraction.add_events(self.transcript.close(extraction.sync()))
            front.end_output()
            # The program has ended; the extraction catches up now, then finds the last prompt.
            seq, lines = extraction.close()
            front.close_recording()
            prompts.close()
            if hooks is not None:
                hooks.close()
        code, sig = exit_status(returncode)
        if sig is not None or runner.hung_up:
            # A hang-up ends the session as killed even if the program exits by itself then.
            status = SessionStatus.KILLED
        else:
            status = SessionStatus.COMPLETED if code == 0 else SessionStatus.FAILED
        writer.update_stats(total_lines_processed=lines, bytes_out=runner.bytes_out)
        publisher.state(
            {"state": status, "metadata": {"exit_code": code, "signal": sig}},
            info={
                "status": status,
                "exit_code": code,
                "last_seq": seq,
                "total_lines_processed": lines,
            },
        )
        # The program has exited; the tap waits this long for a slow or locked database before
        # it spills what is left to a file (`recover` loads it).
        stored = writer.finish(
            status=status,
            exit_code=code,
            exit_signal=sig,
            ended_at=time.time(),
            timeout=conf["FINISH_TIMEOUT"],
        )
        publisher.close()
        return TapResult(
            exit_code=code,
            signal=sig,
            session_id=writer.session.session_id if writer.session else None,
            recording_path=str(self.recording_path),
            events=seq,
            lines=lines,
            stored=stored and not extraction.dead,
            spill_path=str(writer.spill_path) if writer.spill_path else None,
        )

    def _pipeline(self, cols: int, rows: int) -> Pipeline:
        """The extraction's pipeline: the recorded (already redacted) text in, rows out."""
        return Pipeline(
            agent_name=self.agent_name,
            started_at=self.started_at,
            rules=self.rules,
            redact=False,  # the reader's front redacts, before the recording
            input_redacted=self.options.redact_recording,
            screen_size=(cols, rows) if self.use_pty else None,
            cwd=os.getcwd(),
        )

    def _writer_factory(self, spec: SessionSpec):
        opts = self.options
        writer_options = {
            "batch_size": opts.batch_size,
            "batch_seconds": opts.batch_seconds,
            "spill_dir": settings.STREAMTAP["SPILL_DIR"],
        }

        def make_writer(on_session) -> BatchWriter:
            if self.remote:
                # No database credentials on this host: batches go through the server's API.
                return RemoteWriter(
                    spec,
                    server_url=opts.server_url,
                    token=opts.api_token,
                    on_session=on_session,
                    **writer_options,
                )
            return BatchWriter(spec, on_session=on_session, **writer_options)

        return make_writer

    def _recorder(self, cols: int, rows: int, writer: WriterProcess) -> AsciicastWriter:
        opts = self.options
        return AsciicastWriter(
            self.recording_path,
            width=cols,
            height=rows,
            started=self.started_at,
            title=redact(opts.title or f"{self.agent_name}: {shlex.join(opts.argv)}")[:200],
            command=redact(shlex.join(opts.argv)),
            env={k: os.environ[k] for k in ("TERM", "SHELL") if k in os.environ},
            autoflush=False,  # the front flushes once per chunk
            on_failure=lambda exc: self._recording_stopped(writer, exc),
        )

    def _tick(self) -> None:
        lines = self.extraction.lines
        if self.hooks is not None:
            self.extraction.add_events(self.hooks.drain(lines))
        if self.transcript is not None:
            self.extraction.add_events(self.transcript.drain(lines))
        self.writer.update_stats(total_lines_processed=lines, bytes_out=self.runner.bytes_out)

    def _agent_hooks(self, kind: str) -> AgentHooks | None:
        opts = self.options
        if kind not in HOOKED_KINDS:
            return None
        return AgentHooks(
            kind,
            auto_confirm=None if opts.policy_dry_run else opts.auto_confirm,
            hold_seconds=opts.prompt_timeout or settings.STREAMTAP["PROMPT_TIMEOUT"],
            cwd=os.getcwd(),
            send_input=lambda data: self.runner.send_input(data),
            on_transcript=self.transcript.use if self.transcript is not None else None,
        )

    def _recording_stopped(self, writer: WriterProcess, exc: OSError) -> None:
        """The disk is full (or the recording cannot be written): say so once, keep going.

        The program is not touched; its output still reaches the terminal and its events the
        database. `recover` rebuilds from what the recording holds."""
        reason = exc.strerror or str(exc)
        message = f"streamtap: recording stopped ({reason}): {self.recording_path}"
        try:
            os.write(self.stderr_fd, f"\r\n{message}; the program keeps running\r\n".encode())
        except OSError:
            pass
        writer.add_state("recording_stopped", {"reason": reason, "path": str(self.recording_path)})

    def _spec(self) -> SessionSpec:
        size = terminal_size(self.stdout_fd) or terminal_size(self.stdin_fd)
        env = {k: redact(os.environ[k]) for k in ENV_ALLOWLIST if k in os.environ}
        self.spec = SessionSpec(
            agent_name=self.agent_name,
            argv=[redact(a) for a in self.options.argv],
            command_line=redact(shlex.join(self.options.argv)),
            cwd=os.getcwd(),
            host=socket.gethostname(),
            pid=None,
            environment=env,
            mode="pty" if self.use_pty else "pipe",
            term_cols=size.cols if size else 80,
            term_rows=size.rows if size else 24,
            recording_path=str(self.recording_path),
            started_at=self.started_at,
        )
        return self.spec

    def _publisher(self) -> LivePublisher:
        opts = self.options
        conf = settings.STREAMTAP
        if not opts.live:
            transport = NullTransport()
        elif opts.server_url:
            transport = WebsocketTransport(opts.server_url, ingest_auth_headers(opts.api_token))
        else:
            transport = default_transport(server_url(), opts.api_token or conf["API_TOKEN"])
        return LivePublisher(transport)

    @staticmethod
    def _on_session(publisher: LivePublisher, spec: SessionSpec):
        info = {
            "agent_name": spec.agent_name,
            "command_line": spec.command_line,
            "started_at": datetime.fromtimestamp(spec.started_at, tz=UTC).isoformat(),
            "mode": spec.mode,
        }

        def on_session(session):
            publisher.set_session(session.session_id, session.pk, info)

        return on_session


class TapError(Exception):
    def __init__(self, message: str, *, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def print_summary(result: TapResult, stream=None) -> None:
    stream = stream or sys.stderr
    where = result.session_id or "(not stored yet)"
    lines = [
        f"streamtap: session {where}: {result.lines} lines, {result.events} events, "
        f"exit {result.exit_code}"
    ]
    if not result.stored and result.spill_path:
        lines.append(
            f"streamtap: database unavailable; events spilled to {result.spill_path} "
            "(load with `manage.py recover`)"
        )
    elif not result.stored:
        # The writer process failed (it logged why): the recording has everything.
        lines.append(
            "streamtap: events not all stored; `manage.py recover` rebuilds the session from "
            f"its recording {result.recording_path}"
        )
    stream.write("\n".join(lines) + "\n")
    stream.flush()
