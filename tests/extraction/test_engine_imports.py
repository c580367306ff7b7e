"""The engine is plain Python: everything that turns output into events imports no Django, so
`extract` and benchmarks can run it alone and the tap's per-chunk path touches no ORM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ENGINE_MODULES = [
    "extraction.engine",
    "extraction.engine.pipeline",
    "extraction.engine.screen",
    "extraction.engine.screen.registry",
    "extraction.engine.rules_toml",
    "extraction.engine.hyperscan_db",
    "extraction.engine.agent_streams",
    "extraction.engine.transcripts",
    "extraction.engine.hook_events",
]


def test_the_engine_imports_no_django():
    code = (
        "import importlib, sys\n"
        f"for name in {ENGINE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('django')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_pipeline_runs_without_django_settings():
    code = (
        "from extraction.engine import Pipeline\n"
        "p = Pipeline()\n"
        'rows = p.feed(0.0, \'Traceback (most recent call last):\\n  File "x.py", line 1\\n'
        "ValueError: boom\\n') + p.close()\n"
        "print([r['event_type'] for r in rows])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip() == "['error']"


def test_each_engine_module_imports_first_in_a_fresh_process():
    # Import order hid a cycle once: rules_toml imported first failed on its own (rules.py
    # re-exported it at import time), which only `make bench` (`from extraction.engine import
    # load_rules`) tripped over.
    code = "import importlib, sys\nimportlib.import_module(sys.argv[1])\n"
    for name in [*ENGINE_MODULES, "extraction.engine.rules", "extraction.engine.extractor"]:
        done = subprocess.run(
            [sys.executable, "-c", code, name], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-500:]}"
    loader = "from extraction.engine import load_rules, Pipeline; print(load_rules.__module__)"
    done = subprocess.run(
        [sys.executable, "-c", loader], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "extraction.engine.rules_toml"
