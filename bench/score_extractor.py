"""Score the extractor against the labelled corpus in tests/corpus/: precision, recall, F1.

    .venv/bin/python bench/score_extractor.py [--write-docs] [--split generated,tools,heldout] [-v]

Each `<name>.log` is read exactly as `manage.py extract FILE --json` reads it (the same command
code and the built-in rules) and its events are compared with `<name>.labels.jsonl`.

Matching is strict span overlap: an event matches a labelled span of the same type whose
lines overlap its own, each span and each event at most once (so an error reported as two
events is one true and one false event, and two errors reported as one event lose one).
A "negative line" is any line outside every labelled event span; a false event is an event
that overlaps no labelled span at all, counted per 1,000 negative lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extraction.engine import load_rules  # noqa: E402
from extraction.management.commands.extract import Command  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
SPLITS = ("generated", "tools", "heldout")
TYPES = ("error", "warning", "metric", "code_block", "prompt")
TARGETS = {"f1": 0.95, "type_f1": 0.90, "precision": 0.97, "false_per_1000": 1.0}
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:accuracy -->", "<!-- /bench:accuracy -->"


@dataclass
class Tally:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    lines: int = 0
    negative_lines: int = 0
    false_events: int = 0
    files: int = 0
    misses: list = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("tp", "fp", "fn"):
            getattr(self, name).update(getattr(other, name))
        self.lines += other.lines
        self.negative_lines += other.negative_lines
        self.false_events += other.false_events
        self.files += other.files
        self.misses += other.misses

    def prf(self, kind: str | None = None) -> tuple[float, float, float]:
        tp = self.tp[kind] if kind else sum(self.tp.values())
        fp = self.fp[kind] if kind else sum(self.fp.values())
        fn = self.fn[kind] if kind else sum(self.fn.values())
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def false_per_1000(self) -> float:
        return 1000 * self.false_events / self.negative_lines if self.negative_lines else 0.0


def read_labels(path: Path) -> list[dict]:
    spans = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        span = json.loads(line)
        if span["type"] not in (*TYPES, "negative") or span["line_start"] > span["line_end"]:
            raise ValueError(f"{path}:{number}: bad span {span}")
        spans.append(span)
    return spans


def extract(path: Path, rules) -> list[tuple[str, int, int, str]]:
    # The rows of `extract` (the tap's pipeline), as in tests/extraction/test_pipeline_equality.py.
    return [
        (e["event_type"], e["line_start"], e["line_end"], e["rule"])
        for e in Command().extract_file(str(path), rules)
    ]


def score_file(log: Path, rules) -> Tally:
    gold = [s for s in read_labels(log.with_suffix(".labels.jsonl")) if s["type"] != "negative"]
    found = extract(log, rules)
    tally = Tally(files=1)
    with open(log, "rb") as f:
        tally.lines = f.read().count(b"\n")
    covered = set()
    for span in gold:
        covered.update(range(span["line_start"], span["line_end"] + 1))
    tally.negative_lines = tally.lines - len(covered)
    used: set[int] = set()
    for kind, start, end, rule in found:
        best, best_overlap = None, 0
        for i, span in enumerate(gold):
            if i in used or span["type"] != kind:
                continue
            overlap = min(end, span["line_end"]) - max(start, span["line_start"]) + 1
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is None:
            tally.fp[kind] += 1
            if not any(start <= n <= end for n in covered):
                tally.false_events += 1
            tally.misses.append(("false", kind, log, start, end, rule))
        else:
            used.add(best)
            tally.tp[kind] += 1
    for i, span in enumerate(gold):
        if i not in used:
            tally.fn[span["type"]] += 1
            tally.misses.append(
                ("missed", span["type"], log, span["line_start"], span["line_end"], "")
            )
    return tally


def score(splits: tuple[str, ...] = SPLITS, corpus: Path = CORPUS) -> dict[str, Tally]:
    rules = load_rules(None)
    result: dict[str, Tally] = {}
    for split in splits:
        tally = Tally()
        for log in sorted((corpus / split).glob("*.log")):
            tally.add(score_file(log, rules))
        result[split] = tally
    total = Tally()
    for tally in result.values():
        total.add(tally)
    result["all"] = total
    return result


def meets_targets(tally: Tally) -> list[str]:
    """The targets `tally` misses (empty: all met)."""
    failures = []
    p, _, f1 = tally.prf()
    if f1 < TARGETS["f1"]:
        failures.append(f"overall F1 {f1:.3f} < {TARGETS['f1']}")
    if p < TARGETS["precision"]:
        failures.append(f"precision {p:.3f} < {TARGETS['precision']}")
    for kind in TYPES:
        kf1 = tally.prf(kind)[2]
        if tally.tp[kind] + tally.fn[kind] and kf1 < TARGETS["type_f1"]:
            failures.append(f"{kind} F1 {kf1:.3f} < {TARGETS['type_f1']}")
    if tally.false_per_1000() > TARGETS["false_per_1000"]:
        failures.append(f"{tally.false_per_1000():.2f} false events per 1,000 negative lines")
    return failures


def table(result: dict[str, Tally]) -> list[str]:
    out = [
        "| split | type | labelled | found | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, tally in result.items():
        for kind in (*TYPES, None):
            labelled = (
                tally.tp[kind] + tally.fn[kind]
                if kind
                else sum(tally.tp.values()) + sum(tally.fn.values())
            )
            found = (
                tally.tp[kind] + tally.fp[kind]
                if kind
                else sum(tally.tp.values()) + sum(tally.fp.values())
            )
            if kind and not labelled and not found:
                continue
            p, r, f1 = tally.prf(kind)
            name = kind or "**overall**"
            out.append(
                f"| {split} | {name} | {labelled} | {found} | {p:.3f} | {r:.3f} | {f1:.3f} |"
            )
    out += ["", "| split | files | lines | negative lines | false events | per 1,000 negative lines |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for split, tally in result.items():
        out.append(
            f"| {split} | {tally.files} | {tally.lines:,} | {tally.negative_lines:,} | "
            f"{tally.false_events} | {tally.false_per_1000():.2f} |"
        )
    return out


def write_docs(lines: list[str], failures: list[str]) -> None:
    section = [
        BEGIN,
        "## accuracy",
        "",
        "The extractor against the labelled corpus in `tests/corpus/` (see its README): strict span "
        "overlap, one event per labelled span. `heldout` holds the formats' variants and another "
        "seed, never used to tune the rules.",
        "",
        "- command: `bench/score_extractor.py --write-docs`",
        "- targets (all splits together): overall F1 ≥ 0.95, every type ≥ 0.90, precision ≥ 0.97, "
        "at most 1 false event per 1,000 negative lines",
        f"- met: {'yes' if not failures else 'no: ' + '; '.join(failures)}",
        "",
        *lines,
        "",
        END,
    ]
    text = DOCS.read_text(encoding="utf-8")
    block = "\n".join(section)
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default=",".join(SPLITS))
    parser.add_argument("--write-docs", action="store_true", help=f"put the table in {DOCS.name}")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    result = score(tuple(s for s in args.split.split(",") if s))
    if args.verbose:
        for what, kind, log, start, end, rule in result["all"].misses:
            text = log.read_bytes().decode(errors="replace").split("\n")[start - 1][-110:]
            print(f"{what:6} {kind:10} {log.relative_to(CORPUS)}:{start}-{end} {rule:18} {text!r}")
    lines = table(result)
    print("\n".join(lines))
    failures = meets_targets(result["all"])
    print("targets met" if not failures else "targets missed: " + "; ".join(failures))
    if args.write_docs:
        write_docs(lines, failures)
    return 0 if not failures else 1


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamtap_site.settings")
    sys.exit(main())
