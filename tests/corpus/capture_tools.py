"""Capture the real-tool part of the accuracy corpus: small projects built, tested and run here.

    .venv/bin/python tests/corpus/capture_tools.py   # needs gcc, make, git, node, npm, javac,
                                                     # cargo, go and a venv with tqdm (see README)

Each tool's combined output goes to `tools/<name>.log`; its labels are found from the output's
own structure by the labeller written for that tool here (a pytest FAILURES section runs from
its `____ name ____` header to the next; a gcc diagnostic from `file:line:col: error:` over its
gutter lines), never from the extractor. The outputs are committed: re-running this rewrites
them with the paths and timings of the machine it runs on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "tools"

Span = tuple[str, int, int]  # type, first line, last line (1-based, inclusive)


def run(cmd: str, cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(
        cmd, shell=True, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb", **(env or {})}, timeout=600,
    )  # fmt: skip
    return proc.stdout.decode("utf-8", "replace").replace(str(cwd), "/work/demo")


def spans_where(lines: list[str], pattern: str, kind: str) -> list[Span]:
    return [(kind, i + 1, i + 1) for i, line in enumerate(lines) if re.search(pattern, line)]


def indented_after(
    lines: list[str], pattern: str, kind: str, cont: str = r"^(\s+\S|\s*\d* *\||\s*\^)"
) -> list[Span]:
    """A header line and the indented/gutter lines under it (compiler diagnostics)."""
    spans = []
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            end = i
            while end + 1 < len(lines) and re.match(cont, lines[end + 1]):
                end += 1
            spans.append((kind, i + 1, end + 1))
    return spans


def write(
    name: str,
    text: str,
    spans: list[Span] = (),
    negatives: str | None = None,
    *,
    errors: list[str] = (),
    warnings: list[str] = (),
    metrics: list[str] = (),
) -> None:
    """Write the corpus file ``name`` and its labels: ``spans`` and one span a line that one of
    the ``errors``, ``warnings``, ``metrics`` or ``negatives`` patterns finds."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rules = {"error": errors, "warning": warnings, "metric": metrics}
    if negatives:
        rules["negative"] = [negatives]
    spans = [*spans] + [
        span
        for kind, patterns in rules.items()
        for pattern in patterns
        for span in spans_where(lines, pattern, kind)
    ]
    spans = sorted(set(spans), key=lambda s: (s[1], s[2]))
    (OUT / f"{name}.log").write_text("\n".join(lines) + "\n")
    (OUT / f"{name}.labels.jsonl").write_text(
        "".join(json.dumps({"type": t, "line_start": a, "line_end": b}) + "\n" for t, a, b in spans)
    )
    print(f"{name}: {len(lines)} lines, {len(spans)} spans")


# --- pytest ---------------------------------------------------------------------------------

PYTEST_PROJECT = {
    "test_orders.py": """
import logging
import warnings
import pytest

log = logging.getLogger("orders")


def total(items):
    return sum(i["price"] * i["qty"] for i in items)


def test_total():
    assert total([{"price": 2, "qty": 3}]) == 6


def test_total_discount():
    assert total([{"price": 2, "qty": 3}]) == 5


def test_parse_error():
    int("x12")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n != 2, "two is not allowed"


def test_deprecated():
    warnings.warn("total() will round prices", DeprecationWarning)
    assert True


def test_user_warning():
    warnings.warn("cache disabled in tests", UserWarning)


def test_logs_but_passes(caplog):
    log.error("this error is expected in the test")
    assert True


@pytest.fixture
def broken():
    raise RuntimeError("fixture could not open the database")


def test_uses_broken(broken):
    assert broken


class TestNested:
    def test_dict(self):
        assert {"a": 1, "b": 2} == {"a": 1, "b": 3}
""",
    "test_more.py": """
import warnings

def helper():
    raise RuntimeError("could not load configuration")

def test_runtime():
    helper()

def test_ok():
    warnings.warn("old API", PendingDeprecationWarning)
""",
}


def label_pytest(text: str) -> list[Span]:
    lines = text.split("\n")
    spans: list[Span] = []
    section = None
    header = None
    for i, line in enumerate(lines):
        m = re.match(r"^=+ (.+?) =+$", line)
        if m:
            if header is not None:
                spans.append(header_span(section, header, i - 1, lines))
                header = None
            section = m.group(1)
            if re.search(r"\d+ (passed|failed)", section):
                spans.append(("metric", i + 1, i + 1))
            continue
        if re.match(r"^\d+ (passed|failed).* in [\d.]+s$", line):  # -q: the summary alone
            spans.append(("metric", i + 1, i + 1))
        if section in ("FAILURES", "ERRORS") and re.match(r"^_{3,} .+ _{3,}$", line):
            if header is not None:
                spans.append(header_span(section, header, i - 1, lines))
            header = i
        if section == "warnings summary":
            if re.match(r"^\S.*::\S|^\S+\.py:\d+$|^\S+\.py::\S+", line):
                end = i
                while end + 1 < len(lines) and lines[end + 1].startswith("  "):
                    end += 1
                spans.append(("warning", i + 1, end + 1))
    return spans


def header_span(section, start: int, end: int, lines: list[str]) -> Span:
    while end > start and not lines[end].strip():
        end -= 1
    return ("error", start + 1, end + 1)


def capture_pytest(tmp: Path) -> None:
    for name, body in PYTEST_PROJECT.items():
        (tmp / name).write_text(body)
    text = run(f"{sys.executable} -m pytest -p no:cacheprovider", tmp)
    # The short summary repeats each failure: one event per failed test is the FAILURES entry.
    write("pytest", text, label_pytest(text), negatives=r"^(FAILED|ERROR) \S+::")
    text = run(f"{sys.executable} -m pytest -p no:cacheprovider -q --tb=short test_more.py", tmp)
    write("pytest_short", text, label_pytest(text), negatives=r"^(FAILED|ERROR) \S+::")


# --- unittest -------------------------------------------------------------------------------

UNITTEST = """
import unittest


class ParserTest(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)

    def test_fails(self):
        self.assertEqual(sorted([3, 1, 2]), [1, 2, 4])

    def test_errors(self):
        {}["missing"]

    def test_warns(self):
        import warnings
        warnings.warn("unittest warning: slow path", ResourceWarning)


if __name__ == "__main__":
    unittest.main()
"""


def capture_unittest(tmp: Path) -> None:
    (tmp / "test_parser.py").write_text(UNITTEST)
    text = run(f"{sys.executable} -W always test_parser.py -v", tmp)
    lines = text.split("\n")
    spans: list[Span] = []
    for i, line in enumerate(lines):
        if re.match(r"^(FAIL|ERROR): ", line):
            end = i + 1
            while end + 1 < len(lines) and not re.match(r"^(=+|-+)$", lines[end + 1]):
                end += 1
            while not lines[end].strip():
                end -= 1
            spans.append(("error", i + 1, end + 1))
    spans += spans_where(lines, r"^Ran \d+ tests? in", "metric")
    spans += spans_where(lines, r"^FAILED \(failures=", "metric")  # counts as key=number
    # The warning is printed in the middle of its test's "... ok" line.
    spans += indented_after(lines, r"\S+\.py:\d+: \w*Warning: ", "warning")
    write("unittest", text, spans, negatives=r" \.\.\. ok$")


# --- C, make --------------------------------------------------------------------------------


def capture_gcc_make(tmp: Path) -> None:
    (tmp / "main.c").write_text(
        "#include <stdio.h>\n\nint helper(int x);\n\nint main(void) {\n    int unused;\n"
        '    char *s = 42;\n    printf("%d\\n", "error count");\n    return undefined_thing;\n}\n'
    )
    (tmp / "link.c").write_text("int helper(int x);\nint main(void) { return helper(1); }\n")
    (tmp / "ok.cpp").write_text(
        '#include <vector>\nint main() { std::vector<int> v; v.push_back("x"); }\n'
    )
    (tmp / "Makefile").write_text(
        "all: main link\n\nmain: main.c\n\tgcc -Wall -o main main.c\n\nlink: link.c\n\tgcc -o link link.c\n"
        "\ncpp:\n\tg++ -o ok ok.cpp\n\nclean:\n\trm -f main link\n\tfind . -name '*.o' -print\n"
    )
    text = run(
        "make -k all; make cpp; make nothing-here; echo 'make[1]: Nothing to be done for \"all\".'",
        tmp,
    )
    lines = text.split("\n")
    spans = indented_after(lines, r"^\S+:\d+:\d+: (fatal )?error: ", "error")
    spans += indented_after(lines, r"^\S+:\d+:\d+: warning: ", "warning")
    spans += spans_where(lines, r"^make(\[\d+\])?: \*\*\* ", "error")
    spans += spans_where(lines, r"(collect2|ld): error: |undefined reference to", "error")
    write("gcc_make", text, merge_adjacent(spans, lines), negatives=r"Nothing to be done")


def merge_adjacent(spans: list[Span], lines: list[str]) -> list[Span]:
    """The linker's `undefined reference` and its `ld returned 1` line are one diagnostic."""
    spans = sorted(set(spans), key=lambda s: s[1])
    out: list[Span] = []
    for span in spans:
        if (
            out
            and span[0] == out[-1][0] == "error"
            and "undefined reference" in lines[out[-1][2] - 1]
            and span[1] == out[-1][2] + 1
            and "collect2" in lines[span[1] - 1]
        ):
            out[-1] = ("error", out[-1][1], span[2])
        else:
            out.append(span)
    return out


# --- git ------------------------------------------------------------------------------------


def capture_git(tmp: Path) -> None:
    git = "git -c user.name=dev -c user.email=dev@example.org -c init.defaultBranch=main -c advice.mergeConflict=false"
    script = f"""
set +e
{git} init -q repo && cd repo
printf 'a\\nb\\nc\\n' > notes.txt && printf 'x\\n' > errors.md
{git} add . && {git} commit -qm 'first: error handling notes'
{git} checkout -qb feature
printf 'a\\nB feature\\nc\\n' > notes.txt && printf 'y\\n' > errors.md
{git} commit -qam 'feature: fix failing warnings'
{git} checkout -q main
printf 'a\\nB main\\nc\\n' > notes.txt && printf 'z\\n' > errors.md
{git} commit -qam 'main: no more errors'
{git} merge feature
{git} status --short
{git} log --oneline
{git} merge --abort
{git} checkout no-such-branch
{git} push origin main
cd .. && {git} -C nowhere status
"""
    text = run(script, tmp)
    write(
        "git",
        text,
        errors=[r"^CONFLICT \(", r"^Automatic merge failed", r"^(fatal|error): "],
        negatives=r"error|fail|warn",
    )


# --- node, npm ------------------------------------------------------------------------------


def capture_node(tmp: Path) -> None:
    scripts = {
        "assert.js": "const assert = require('node:assert');\nassert.strictEqual(1 + 1, 3, 'sum is wrong');\n",
        "throw.js": "function load() { throw new TypeError('Cannot read config: no such file'); }\nload();\n",
        "ok.js": "assert = require('assert'); assert.ok(true); console.log('0 errors, 0 warnings');\n",
        "deprecated.js": "new Buffer(10);\nconsole.log('done');\n",
        "emitter.js": "const E = require('events');\nconst e = new E();\nfor (let i = 0; i < 12; i++) e.on('x', () => {});\nconsole.log('listeners added');\n",
        "reject.js": "Promise.reject(new Error('upload failed after 3 retries'));\n",
        "internal.js": "require('fs').readFileSync('/no/such/file.json');\n",
    }
    for name, body in scripts.items():
        (tmp / name).write_text(body)
    text = "".join(run(f"echo '$ node {n}'; node {n}", tmp) for n in scripts)
    lines = text.split("\n")
    spans: list[Span] = []
    for i, line in enumerate(lines):
        if re.match(r"^(node:[\w/]+|/\S+\.js):\d+$", line):  # an uncaught exception's report
            end = i
            while end + 1 < len(lines) and not lines[end].startswith("Node.js v"):
                end += 1
            spans.append(("error", i + 1, end + 1))
        m = re.match(r"^\(node:\d+\) (\[\w+\] )?\w*Warning: ", line)
        if m:
            end = (
                i + 1 if i + 1 < len(lines) and lines[i + 1].startswith("(Use `node --trace") else i
            )
            spans.append(("warning", i + 1, end + 1))
    (tmp / "pkg").mkdir()
    (tmp / "pkg" / "package.json").write_text('{"name": "localpkg", "version": "1.0.0"}\n')
    (tmp / "app").mkdir()
    (tmp / "app" / "package.json").write_text(
        '{"name": "app", "version": "1.0.0", "scripts": {"test": "node ../assert.js"}}\n'
    )
    npm = run(
        "echo '$ npm install ../pkg'; npm install --no-fund ../pkg; echo '$ npm test'; npm test; "
        "echo '$ npm run missing'; npm run missing",
        tmp / "app",
    )
    npm_lines = npm.split("\n")
    base = len(lines)
    if lines and lines[-1] == "":
        base -= 1
    for i, line in enumerate(npm_lines):
        if re.match(r"^added \d+ packages?.* in \d", line):
            spans.append(("metric", base + i + 1, base + i + 1))
        if re.match(r"^(node:[\w/]+|/\S+\.js):\d+$", line):
            end = i
            while end + 1 < len(npm_lines) and not npm_lines[end].startswith("Node.js v"):
                end += 1
            spans.append(("error", base + i + 1, base + end + 1))
        if re.match(r"^npm (ERR!|error)( |$)", line) and not (
            i and re.match(r"^npm (ERR!|error)( |$)", npm_lines[i - 1])
        ):
            end = i
            while end + 1 < len(npm_lines) and re.match(
                r"^npm (ERR!|error)( |$)", npm_lines[end + 1]
            ):
                end += 1
            spans.append(("error", base + i + 1, base + end + 1))
    text = "\n".join(lines[:base] + npm_lines)
    write("node_npm", text, spans, negatives=r"0 errors|found 0 vulnerabilities")


# --- java -----------------------------------------------------------------------------------


def capture_java(tmp: Path) -> None:
    (tmp / "Broken.java").write_text(
        'public class Broken {\n    public static void main(String[] a) {\n        int x = "s";\n'
        "        undefinedCall();\n    }\n}\n"
    )
    (tmp / "App.java").write_text(
        'import java.util.logging.Logger;\npublic class App {\n  static Logger log = Logger.getLogger("App");\n'
        '  static void load(String p) { throw new IllegalStateException("config missing: " + p); }\n'
        '  public static void main(String[] a) throws Exception {\n    log.info("starting; errors so far: 0");\n'
        '    log.warning("cache directory not set, using /tmp");\n    log.severe("database unreachable");\n'
        '    try { load("app.conf"); } catch (RuntimeException e) { throw new Exception("startup failed", e); }\n  }\n}\n'
    )
    text = run("javac Broken.java; javac App.java && java App", tmp)
    lines = text.split("\n")
    spans = indented_after(lines, r"^\S+\.java:\d+: error: ", "error", cont=r"^\s")
    for i, line in enumerate(lines):
        if line.startswith("Exception in thread"):
            end = i
            while end + 1 < len(lines) and re.match(
                r"^(\s+at |\s+\.\.\. \d+ more|Caused by: )", lines[end + 1]
            ):
                end += 1
            spans.append(("error", i + 1, end + 1))
        if re.match(r"^(SEVERE|WARNING): ", line):
            spans.append(("error" if line.startswith("SEVERE") else "warning", i + 1, i + 1))
    write("java", text, spans, negatives=r"^INFO: ")


# --- python logging -------------------------------------------------------------------------

LOGGING = r"""
import logging, sys, warnings
formats = [
    "%(levelname)s:%(name)s:%(message)s",
    "%(asctime)s - %(name)s - %(levelname)s - %(message)s",
    "%(asctime)s %(levelname)-8s %(name)s: %(message)s",
    "[%(asctime)s] %(levelname)s in %(module)s: %(message)s",
    "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
]
for i, fmt in enumerate(formats):
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(logging.Formatter(fmt))
    root.addHandler(h)
    root.setLevel(logging.DEBUG)
    log = logging.getLogger(["app", "app.db", "worker.pool", "api.views", "cache"][i])
    print(f"LABEL none")
    log.info("warm-up finished after %d requests", 10 * i + 3)
    print(f"LABEL negative")
    log.info("no warnings during startup, error handling improved")
    print(f"LABEL negative")
    log.debug("caught ValueError while probing optional module (harmless)")
    print(f"LABEL warning")
    log.warning("disk usage at %d%%", 90 + i)
    print(f"LABEL error")
    log.error("could not connect to db-%d", i)
    print(f"LABEL error")
    log.critical("out of memory in worker %d", i)
    print(f"LABEL error")
    try:
        {}["key%d" % i]
    except KeyError:
        log.exception("request failed")
    print(f"LABEL metric")
    log.info("upload done, retries=%d elapsed=%.2fs", i, 1.5 * i)
print("LABEL warning")
warnings.warn("the 'mode' argument is deprecated", DeprecationWarning, stacklevel=1)
print("LABEL error")
raise RuntimeError("could not load configuration")
"""


def capture_python_logging(tmp: Path) -> None:
    (tmp / "logs.py").write_text(LOGGING)
    text = run(f"{sys.executable} -W always -u logs.py 2>&1", tmp)
    # Each record is announced by a LABEL line that is then left out of the corpus.
    lines: list[str] = []
    spans: list[Span] = []
    label, start = None, 0
    for line in text.split("\n") + ["LABEL none"]:
        if line.startswith("LABEL "):
            if label not in (None, "none") and len(lines) >= start:
                end = len(lines)
                while end > start and not lines[end - 1].strip():
                    end -= 1
                spans.append((label, start, end))
            label, start = line.split()[1], len(lines) + 1
            continue
        lines.append(line)
    write("python_logging", "\n".join(lines), spans)


# --- rust -----------------------------------------------------------------------------------


def capture_cargo(tmp: Path) -> None:
    run("cargo new -q --lib parse && cargo new -q broken", tmp)
    (tmp / "parse" / "src" / "lib.rs").write_text(
        "pub fn parse(s: &str) -> i32 { s.parse().unwrap() }\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n"
        '    #[test]\n    fn parses() { assert_eq!(crate::parse("1"), 1); }\n    #[test]\n    fn parse() { assert_eq!(crate::parse("1"), 2); }\n'
        '    #[test]\n    fn bad_input() { crate::parse("x"); }\n    #[test]\n    fn errors_zero() { let errors = 0; assert_eq!(errors, 0); }\n}\n'
    )
    (tmp / "broken" / "src" / "main.rs").write_text(
        'fn main() {\n    let unused = 5;\n    let x: i32 = "text";\n    println!("{}", y);\n}\n'
    )
    text = run(
        "cargo test --offline 2>&1; cd ../broken && cargo build --offline 2>&1",
        tmp / "parse",
        {"CARGO_TERM_COLOR": "never"},
    )
    lines = text.split("\n")
    spans: list[Span] = []
    for i, line in enumerate(lines):
        if " panicked at " in line:
            end = i
            while end + 1 < len(lines) and not re.match(r"^note: .*RUST_BACKTRACE", lines[end]):
                end += 1
            spans.append(("error", i + 1, end + 1))
        if re.match(r"^(error|warning)(\[\w+\])?: ", line):
            kind = "error" if line.startswith("error") else "warning"
            end = i
            while end + 1 < len(lines) and re.match(r"^(\s+\S|\s*\d* *\||\s*=)", lines[end + 1]):
                end += 1
            spans.append((kind, i + 1, end + 1))
        if re.match(r"^\s*Finished .* in [\d.]+s$|^test result: ", line):
            spans.append(("metric", i + 1, i + 1))
    write("cargo", text, spans, negatives=r"\.\.\. ok$")


# --- go -------------------------------------------------------------------------------------


def capture_go(tmp: Path) -> None:
    if shutil.which("go") is None:
        print("go: not installed, skipped")
        return
    (tmp / "go.mod").write_text("module example.com/demo\n\ngo 1.19\n")
    (tmp / "build").mkdir()
    (tmp / "build" / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tcount := 3\n'
        "\tfmt.Println(undefinedName)\n\tvar s string = 5\n}\n"
    )
    (tmp / "vet").mkdir()
    (tmp / "vet" / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tname := "x"\n\tfmt.Printf("%d errors\\n", name)\n'
        '\tfmt.Println("0 errors, no warnings")\n}\n'
    )
    (tmp / "run").mkdir()
    (tmp / "run" / "main.go").write_text(
        'package main\n\nimport "log"\n\nfunc main() {\n\tlog.Printf("WARN: cache disabled")\n'
        '\tlog.Printf("started, errors=0 after warm-up")\n\tlog.Printf("ERROR: upstream unavailable")\n}\n'
    )
    env = {"GOCACHE": str(tmp / ".cache"), "GOFLAGS": "-mod=mod", "GOPATH": str(tmp / ".gopath")}
    text = run("go build -o /dev/null ./build/; go vet ./vet/; go run ./run/ 2>&1", tmp, env)
    write(
        "go",
        text,
        errors=[r"^(\./)?[\w/]+\.go:\d+:\d+: ", r"\d{2}:\d{2}:\d{2} ERROR: "],
        warnings=[r"\d{2}:\d{2}:\d{2} WARN: "],
        metrics=[r"errors=0"],
    )


# --- coreutils, tqdm --------------------------------------------------------------------------


def capture_shell(tmp: Path) -> None:
    (tmp / "dir").mkdir()
    (tmp / "errors.log").write_text("")
    text = run(
        "echo '$ rm missing.txt dir'; rm missing.txt dir; echo '$ rm -v errors.log'; rm -v errors.log; "
        "echo '$ ls no-warnings'; ls no-warnings; echo '$ ssh -o BatchMode=yes -p 1 127.0.0.1 true'; "
        "ssh -o BatchMode=yes -o ConnectTimeout=3 -p 1 127.0.0.1 true; "
        "echo '$ grep -c error errors.txt'; printf 'no errors\\n' > errors.txt; grep -c error errors.txt",
        tmp,
    )
    write(
        "shell",
        text,
        errors=[
            r"^rm: cannot remove ",
            r"^ls: cannot access ",
            r"^ssh: connect to host .*: Connection refused",
        ],
        negatives=r"removed '.*errors\.log'",
    )


TQDM = r"""
import time
from tqdm import tqdm
for epoch in range(3):
    bar = tqdm(range(40), desc=f"epoch {epoch}", mininterval=0, ncols=100, ascii=False)
    for step in bar:
        bar.set_postfix(loss=1.0 / (step + 1 + epoch), acc=0.5 + step / 100)
    bar.close()
for _ in tqdm(range(30), desc="download", unit="B", unit_scale=True, mininterval=0, ncols=100):
    pass
print("training finished: errors=0")
"""


def capture_tqdm(tmp: Path, python: str) -> None:
    (tmp / "train.py").write_text(TQDM)
    text = run(f"{python} train.py", tmp)
    # Each bar rewrites its line with carriage returns; a terminal shows the last state.
    write("tqdm", text, metrics=[r"loss=", r"errors=0"])


def main() -> None:
    OUT.mkdir(exist_ok=True)
    python = os.environ.get("TQDM_PYTHON", "/tmp/accuracy_venv/bin/python")
    steps = [capture_pytest, capture_unittest, capture_gcc_make, capture_git, capture_node, capture_java,
             capture_python_logging, capture_cargo, capture_go, capture_shell]  # fmt: skip
    only = set(sys.argv[1:])
    for step in steps:
        if only and step.__name__.removeprefix("capture_") not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            step(Path(tmp))
    if not only or "tqdm" in only:
        with tempfile.TemporaryDirectory() as tmp:
            capture_tqdm(Path(tmp), python)


if __name__ == "__main__":
    main()
