"""Benchmark the extractor engine and the redactor on generated agent/log output.

    .venv/bin/python bench/bench_extractor.py [--lines 1000000] [--chunk 65536] [--seed 1] [--repeat 3]

The input is deterministic for a seed: ~95-byte lines, about 5% of them carrying events
(errors, warnings, metrics, tracebacks, code fences, prompts), the rest ordinary log lines
and agent chatter, some coloured with ANSI escapes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extraction.engine import Extractor, StreamRedactor, redact  # noqa: E402

WORDS = (
    "the update function handle edge case request worker pool cache user file module parser "
    "config value result test build step output input stream session event record buffer "
    "index query table field model view route token client server thread socket"
).split()
MODULES = ["worker.pool", "api.views", "db.backend", "cache.redis", "auth.session", "tap.pty"]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _pad(line: str, rng: random.Random) -> str:
    while len(line) < 88:
        line += " " + rng.choice(WORDS)
    return line[:100]


def ordinary_line(rng: random.Random, i: int) -> str:
    kind = rng.random()
    if kind < 0.35:
        ts = f"2024-05-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d},{i % 1000:03d}"
        level = rng.choice(("INFO", "INFO", "DEBUG"))
        return _pad(
            f"{ts} {level} {rng.choice(MODULES)}: {_words(rng, 3)} id={i} in {i % 97}ms", rng
        )
    if kind < 0.65:
        return _pad("I'll " + _words(rng, 12) + ".", rng)
    if kind < 0.8:
        return _pad(
            f"    return self.{rng.choice(WORDS)}_{rng.choice(WORDS)}(value, {i % 10}) + offset",
            rng,
        )
    if kind < 0.9:
        return _pad(
            f"\x1b[32m✓\x1b[0m src/{rng.choice(WORDS)}/{rng.choice(WORDS)}.py  {_words(rng, 6)}",
            rng,
        )
    return _pad(f"  src/{rng.choice(WORDS)}_{i % 50}.ts | {i % 300} ++++---- {_words(rng, 4)}", rng)


EVENT_LINES = [
    ["src/main.c:{n}:5: error: expected ';' before 'return'", "   {n} |     return x", "      |     ^"],
    ["2024-05-01 12:00:00,123 ERROR api.views: request failed with status 500 for user {n}"],
    ["[WARN] cache miss ratio above threshold: {n} misses in the last minute, consider warming"],
    ["epoch {n}/100 loss=0.{n} acc=0.9{n} lr=1e-4 throughput=1200 samples/s"],
    ["Tokens used: {n},234 (input 1,000 / output {n}34) for this request in the current session"],
    ["===== {n} passed, 1 failed, 2 skipped in 3.21s ====="],
    ["Traceback (most recent call last):", '  File "app/x.py", line {n}, in run', "    value = parse(raw)",
     "ValueError: invalid literal for int() with base 10: 'x{n}'"],
    ["```python", "def handler(event):", "    raise Error('x')  # Error: inside code", "```"],
    ["npm ERR! code ERESOLVE", "npm ERR! ERESOLVE unable to resolve dependency tree {n}"],
    ["warning: unused variable: `x{n}`", "  --> src/lib.rs:{n}:9"],
    ["Do you want to run `pytest -q tests/{n}`? [Y/n]"],
]  # fmt: skip


def generate(lines: int, seed: int, event_ratio: float = 0.05) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    i = 0
    while len(out) < lines:
        i += 1
        if rng.random() < event_ratio / 1.6:  # events average ~1.6 lines
            for line in rng.choice(EVENT_LINES):
                out.append(line.format(n=i % 97))
        else:
            out.append(ordinary_line(rng, i))
    return "\n".join(out[:lines]) + "\n"


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def bench_extractor(parts: list[str], lines: int) -> tuple[float, float, int]:
    extractor = Extractor()
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    for part in parts:
        count += len(extractor.feed(part))
    count += len(extractor.close())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert extractor.lines == lines, (extractor.lines, lines)
    return elapsed, cpu, count


def bench_redactor(parts: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    for part in parts:
        redact(part)
    plain = time.perf_counter() - start
    stream = StreamRedactor()
    start = time.perf_counter()
    for part in parts:
        stream.feed(part)
    stream.flush()
    return plain, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=3, help="extractor runs; the medians are reported"
    )
    parser.add_argument("--no-redact", action="store_true", help="skip the redactor benchmark")
    args = parser.parse_args()

    text = generate(args.lines, args.seed)
    parts = chunks(text, args.chunk)
    mb = len(text.encode()) / 1e6
    print(
        f"input: {args.lines:,} lines, {mb:.1f} MB, {len(text) / args.lines:.0f} chars/line, chunk {args.chunk}"
    )
    # CPU time is reported too: on a shared machine it is the steadier figure.
    walls, cpus = [], []
    for run in range(max(1, args.repeat)):
        elapsed, cpu, count = bench_extractor(parts, args.lines)
        walls.append(elapsed)
        cpus.append(cpu)
        print(
            f"  run {run + 1}: {args.lines / elapsed:,.0f} lines/s wall ({elapsed:.2f} s), "
            f"{args.lines / cpu:,.0f} lines/s CPU ({cpu:.2f} s), {count:,} events"
        )
    elapsed, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"extractor (median of {len(walls)}): {args.lines / elapsed:,.0f} lines/s wall "
        f"({elapsed:.2f} s), {args.lines / cpu:,.0f} lines/s CPU ({cpu:.2f} s), {count:,} events"
    )
    if args.no_redact:
        return
    plain, stream = bench_redactor(parts)
    print(f"redact():       {args.lines / plain:,.0f} lines/s ({plain:.2f} s)")
    print(f"StreamRedactor: {args.lines / stream:,.0f} lines/s ({stream:.2f} s)")


if __name__ == "__main__":
    main()
