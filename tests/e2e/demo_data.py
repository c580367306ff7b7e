"""A small, realistic data set for end-to-end tests and the README screenshots.

Run inside Django (``manage.py shell -c "from tests.e2e.demo_data import load; load()"``).
Creates a handful of sessions of three agents, a few hundred events over the last hour, metrics,
deduplicated code blocks, one hostile event, and an asciicast recording for the busiest session.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from extraction.models import CodeBlock, ExtractionEvent
from sessions.models import ProcessSession, ProcessStateChange

HOSTILE = '<script>alert("pwned")</script> <img src=x onerror=alert(1)> javascript:alert(2)'

CODE = {
    "python": "def retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n            return fn()\n        except TimeoutError:\n            time.sleep(2 ** i)\n    raise RuntimeError('gave up')\n",
    "bash": '#!/usr/bin/env bash\nset -euo pipefail\nfor f in src/*.py; do\n  ruff check "$f" && echo "ok $f"\ndone\n',
    "json": '{\n  "model": "gpt-5",\n  "temperature": 0.2,\n  "tools": ["shell", "apply_patch"]\n}\n',
    "diff": "--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,4 @@\n import os\n+import sys\n def main():\n-    pass\n+    sys.exit(run())\n",
}


def _recording(path: Path, started) -> list[tuple[int, str, str, str]]:
    """Write a colourful recording; return (line, type, rule, content) for its events."""
    lines = []
    events = []
    t = 0.0
    out = []

    def emit(text: str, event=None):
        nonlocal t
        t += random.uniform(0.05, 0.6)
        lines.append(text)
        out.append([round(t, 3), "o", text + "\r\n"])
        if event:
            events.append((len(lines), *event, t))

    emit(
        "\x1b[1;36m▶ codex\x1b[0m  working on \x1b[1missue #42\x1b[0m: flaky retry in the sync worker"
    )
    emit("\x1b[2m$ pytest -q tests/test_sync.py\x1b[0m")
    for i in range(1, 7):
        emit(f"\x1b[32m.\x1b[0m test_sync_{i} passed")
    emit("\x1b[31mF\x1b[0m test_sync_retry")
    emit(
        "Traceback (most recent call last):",
        (
            "error",
            "python_traceback",
            'Traceback (most recent call last):\n  File "sync.py", line 88, in retry\nTimeoutError: upstream did not answer in 5s',
        ),
    )
    emit('  File "sync.py", line 88, in retry')
    emit("\x1b[1;31mTimeoutError\x1b[0m: upstream did not answer in 5s")
    emit(
        "\x1b[33mDeprecationWarning\x1b[0m: datetime.utcnow() is deprecated",
        ("warning", "deprecation", "DeprecationWarning: datetime.utcnow() is deprecated"),
    )
    for step in range(1, 9):
        loss = round(2.4 / step + random.uniform(-0.05, 0.05), 3)
        emit(
            f"epoch {step}/8  loss={loss}  \x1b[34mtokens/s={int(900 + step * 35)}\x1b[0m",
            ("metric", "key_value_metric", f"loss={loss}"),
        )
    emit("Proposed patch:")
    emit("```python")
    for code_line in CODE["python"].splitlines():
        emit(code_line)
    emit("```", ("code_block", "fenced_code", CODE["python"]))
    emit(
        "\x1b[1;33m?\x1b[0m Apply this patch and run \x1b[1mrm -rf build/\x1b[0m? [y/N] ",
        ("prompt", "confirm_yn", "Apply this patch and run rm -rf build/? [y/N]"),
    )

    header = {
        "version": 2,
        "width": 100,
        "height": 26,
        "timestamp": int(started.timestamp()),
        "title": "codex",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        f.write(json.dumps(header) + "\n")
        for entry in out:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return events


def _event(
    session, seq, event_type, rule, severity, risk_level, line_start, content, **fields
) -> ExtractionEvent:
    """An event of the session's agent, on one line unless ``line_end`` is given."""
    fields.setdefault("line_end", line_start)
    return ExtractionEvent(
        session=session,
        seq=seq,
        agent_name=session.agent_name,
        event_type=event_type,
        rule=rule,
        severity=severity,
        risk_level=risk_level,
        line_start=line_start,
        content=content,
        **fields,
    )


def _save_counts(session, counts: Counter) -> None:
    session.event_counts = dict(counts)
    session.total_extraction_events = sum(counts.values())
    session.save()


def load(seed: int = 7) -> None:
    random.seed(seed)
    now = timezone.now()
    rec_dir = Path(settings.STREAMTAP["RECORDINGS_DIR"])

    specs = [
        ("codex", "running", 14, "codex exec 'fix the flaky retry test'", None),
        (
            "claude",
            "waiting_for_input",
            35,
            "claude --permission-mode ask 'migrate settings to env'",
            None,
        ),
        ("aider", "completed", 95, "aider --model sonnet src/api.py", 0),
        ("codex", "failed", 240, "codex exec 'bump django to 5.2'", 1),
        ("claude", "killed", 60 * 26, "claude 'refactor the tap command'", -15),
        ("aider", "lost", 60 * 50, "aider --yes-always", None),
    ]
    sessions = []
    for agent, status, minutes_ago, command, exit_code in specs:
        started = now - timedelta(minutes=minutes_ago)
        session = ProcessSession.objects.create(
            session_id=f"{agent}-{timezone.localtime(started):%Y%m%d-%H%M%S}",
            agent_name=agent,
            command_line=command,
            argv=command.split(),
            cwd="/home/dev/project",
            host="devbox",
            mode="pty",
            term_cols=100,
            term_rows=26,
            status=status,
            started_at=started,
            ended_at=None
            if status in ("running", "waiting_for_input")
            else started + timedelta(minutes=random.randint(3, 40)),
            exit_code=exit_code,
        )
        ProcessStateChange.objects.create(session=session, state="running", timestamp=started)
        if status != "running":
            ProcessStateChange.objects.create(
                session=session,
                state=status,
                timestamp=session.ended_at or now - timedelta(minutes=1),
                metadata={"exit_code": exit_code}
                if exit_code is not None
                else {"prompt": "Apply? [y/N]"},
            )
        sessions.append(session)

    # More sessions over the last days for the "sessions over time" charts.
    for d in range(1, 12):
        for k in range(random.randint(0, 4)):
            started = now - timedelta(days=d, hours=random.randint(0, 20), minutes=k)
            agent = random.choice(["codex", "claude", "aider"])
            ProcessSession.objects.create(
                session_id=f"{agent}-{timezone.localtime(started):%Y%m%d-%H%M%S}-{k}",
                agent_name=agent,
                command_line=f"{agent} exec 'task {d}.{k}'",
                status=random.choice(["completed", "completed", "failed"]),
                started_at=started,
                ended_at=started + timedelta(minutes=random.randint(2, 50)),
                exit_code=random.choice([0, 0, 1]),
            )

    main = sessions[0]
    main.recording_path = str(rec_dir / f"{main.session_id}.cast")
    recorded = _recording(Path(main.recording_path), main.started_at)
    rows = []
    for seq, (line, etype, rule, content, offset) in enumerate(recorded, start=1):
        metadata = {}
        if etype == "metric":
            metadata = {"name": "loss", "value": float(content.split("=")[1])}
        rows.append(
            _event(
                main,
                seq,
                etype,
                rule,
                {"error": "error", "warning": "warning", "prompt": "warning"}.get(etype, "info"),
                "high" if etype == "prompt" else ("medium" if etype == "error" else "low"),
                line,
                content,
                metadata=metadata,
                timestamp=main.started_at + timedelta(seconds=offset),
                offset_seconds=offset,
            )
        )
    seq = len(rows)
    for step in range(1, 9):
        seq += 1
        rows.append(
            _event(
                main,  # codex
                seq,
                "metric",
                "key_value_metric",
                "info",
                "low",
                12 + step,
                f"tokens/s={900 + step * 35}",
                metadata={
                    "name": "tokens_per_s",
                    "value": 900 + step * 35 + random.randint(-40, 40),
                },
                timestamp=main.started_at + timedelta(seconds=step * 4),
                offset_seconds=step * 4,
            )
        )
    ExtractionEvent.objects.bulk_create(rows)

    # Background traffic for the charts and the history.
    templates = [
        (
            "error",
            "python_traceback",
            "error",
            "medium",
            "Traceback (most recent call last):\n  File \"worker.py\", line {n}\nKeyError: 'user_id'",
        ),
        (
            "error",
            "npm_error",
            "error",
            "medium",
            "npm ERR! code ERESOLVE\nnpm ERR! could not resolve dependency tree",
        ),
        (
            "warning",
            "deprecation",
            "warning",
            "low",
            "DeprecationWarning: pkg_resources is deprecated as an API",
        ),
        (
            "warning",
            "pytest_warning",
            "warning",
            "low",
            "PytestUnraisableExceptionWarning: Exception ignored in: <socket>",
        ),
        ("metric", "key_value_metric", "info", "low", "accuracy={v}"),
        ("code_block", "fenced_code", "info", "low", "```bash\nruff check .\n```"),
        ("prompt", "confirm_yn", "warning", "high", "Run `git push --force origin main`? [y/N]"),
        (
            "error",
            "shell_error",
            "critical",
            "high",
            "\x1b[31mrm: cannot remove '/etc/hosts': Permission denied\x1b[0m",
        ),
    ]
    weights = [8, 3, 7, 3, 6, 2, 1, 1]
    for session in sessions[1:4]:
        rows, counts = [], Counter()
        for seq in range(1, 121):
            etype, rule, sev, risk, text = random.choices(templates, weights)[0]
            at = now - timedelta(seconds=random.randint(0, 3500))
            rows.append(
                _event(
                    session,
                    seq,
                    etype,
                    rule,
                    sev,
                    risk,
                    seq * 3,
                    text.format(n=seq, v=round(random.uniform(0.7, 0.95), 3)),
                    line_end=seq * 3 + 1,
                    metadata={"name": "accuracy", "value": round(random.uniform(0.7, 0.95), 3)}
                    if etype == "metric"
                    else {},
                    timestamp=at,
                    offset_seconds=(at - session.started_at).total_seconds(),
                    review_status=random.choice(
                        ["pending", "pending", "confirmed", "false_positive"]
                    )
                    if risk == "high"
                    else "pending",
                )
            )
            counts[etype] += 1
        ExtractionEvent.objects.bulk_create(rows)
        _save_counts(session, counts)
    hostile_session = sessions[3]
    hostile = _event(hostile_session, 999, "error", "hostile_output", "error", "high", 999, HOSTILE)
    hostile.context, hostile.timestamp = HOSTILE, now - timedelta(minutes=2)
    hostile.save()

    _save_counts(main, Counter(r.event_type for r in ExtractionEvent.objects.filter(session=main)))

    for i, (lang, content) in enumerate(CODE.items()):
        CodeBlock.objects.create(
            sha256=hashlib.sha256(content.encode()).hexdigest(),
            language=lang,
            content=content,
            first_seen=now - timedelta(hours=30 - i * 5),
            last_seen=now - timedelta(minutes=i * 7),
            occurrences=[7, 3, 1, 2][i],
        )
    CodeBlock.objects.create(
        sha256=hashlib.sha256(HOSTILE.encode()).hexdigest(),
        language="html",
        content=HOSTILE,
        first_seen=now - timedelta(hours=2),
        last_seen=now - timedelta(hours=1),
        occurrences=1,
    )
    print(
        json.dumps({"main_session": main.session_id, "hostile_session": hostile_session.session_id})
    )
