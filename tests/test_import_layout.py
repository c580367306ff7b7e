"""The lower layers of docs/architecture.md's "what each part may import" table, read from the
import lines (lazy imports inside functions included): no arrow runs back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("sessions", "extraction", "output_search", "streamtap_site")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path) -> set[str]:
    """The project modules ``path`` imports, anywhere in it, as absolute names."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from package import module` imports that module, not just the package.
            names = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in PROJECT)
    return found


def files(*patterns: str) -> list[Path]:
    return sorted(path for pattern in patterns for path in ROOT.glob(pattern))


def allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# part → (its files, the project modules it may import)
LAYERS = {
    "event_shape": (["extraction/event_shape.py"], ()),
    "search": (
        ["extraction/search.py", "extraction/search_postgres.py"],
        ("extraction.search_postgres",),
    ),
    "sessions models": (["sessions/models.py"], ()),
    "extraction models": (
        ["extraction/models/*.py"],
        ("extraction.models", "extraction.search", "extraction.event_shape"),
    ),
    "engine": (["extraction/engine/**/*.py"], ("extraction.engine", "extraction.event_shape")),
}


@pytest.mark.parametrize("layer", LAYERS)
def test_a_lower_layer_imports_nothing_above_it(layer):
    patterns, may_import = LAYERS[layer]
    paths = files(*patterns)
    assert paths
    wrong = {
        f"{module_name(path)} -> {name}"
        for path in paths
        for name in project_imports(path)
        if not allowed(name, may_import)
    }
    assert not wrong, sorted(wrong)


def test_extraction_takes_only_the_models_from_sessions():
    paths = [p for p in files("extraction/**/*.py") if "migrations" not in p.parts]
    wrong = {
        f"{module_name(path)} -> {name}"
        for path in paths
        for name in project_imports(path)
        if name.split(".")[0] == "sessions" and name != "sessions.models"
    }
    assert not wrong, sorted(wrong)


def test_extraction_models_modules_import_only_those_before_them():
    order = ["extraction.models.events", "extraction.models.groups", "extraction.models.proxies"]
    for position, module in enumerate(order):
        path = ROOT / (module.replace(".", "/") + ".py")
        later = set(order[position + 1 :]) | {"extraction.models"}
        assert not project_imports(path) & later, module


# The web side of sessions/: what the tap runtime must never import.
SESSIONS_WEB = (
    "sessions.views",
    "sessions.api",
    "sessions.urls",
    "sessions.admin",
    "sessions.consumers",
    "sessions.replay_views",
    "sessions.ingest_api",
    "sessions.approval_api",
    "sessions.dashboard_queries",
    "sessions.serializers",
)


def test_the_tap_runtime_imports_no_view_api_or_consumer():
    wrong = {
        f"{module_name(path)} -> {name}"
        for path in files("sessions/tap/**/*.py")
        for name in project_imports(path)
        if allowed(name, SESSIONS_WEB) or allowed(name, ("extraction.api", "extraction.views"))
    }
    assert not wrong, sorted(wrong)
