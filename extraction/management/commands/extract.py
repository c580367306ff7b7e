"""Run the tap's pipeline over files (or stdin) and print the events. Needs no database.

The same ``Pipeline`` as ``tap``, ``import_cast`` and ``recover`` (redaction with its hold-back,
agent JSON streams, the rules), so a file gives here the events a tap of ``cat FILE`` stores; a
recording is read with its timing, so its idle points (prompts) are the live run's.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from django.core.management.base import BaseCommand, CommandError

from extraction.engine import RulesError, load_rules
from extraction.engine.pipeline import Chunk, Pipeline, replay
from extraction.event_shape import FOUND_FIELDS, event_json

CHUNK_SIZE = 64 * 1024


def read_chunks(stream: BinaryIO) -> Iterator[str]:
    """Decoded text of a byte stream; invalid UTF-8 becomes U+FFFD, split sequences survive."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := stream.read(CHUNK_SIZE):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


# The asciicast versions read; they differ in event times (absolute in v2, intervals in v3),
# which extraction does not use, and v3 allows "#" comment lines. sessions.recording reads
# the same formats for import_cast, but from a path, and this must read stdin as well.
ASCIICAST_VERSIONS = (2, 3)
# A recording's event line is parsed whole (JSON); past this it is refused, not read into memory.
MAX_CAST_LINE = 320 << 20


def cast_output(first_line: str, chunks: Iterator[str]) -> Iterator[Chunk] | None:
    """The events of an asciicast v2 or v3 recording, times as seconds from its start (v3 gives
    intervals), or None if this is not one."""
    try:
        header = json.loads(first_line)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("version") not in ASCIICAST_VERSIONS:
        return None

    def lines() -> Iterator[str]:
        # The pieces of an unfinished line are kept apart and joined once: adding each chunk to
        # one string and splitting it again made a 256 MB line take quadratic time.
        pending: list[str] = []
        size = 0
        number = 1
        for chunk in chunks:
            if "\n" not in chunk:
                pending.append(chunk)
                size += len(chunk)
                if size > MAX_CAST_LINE:
                    raise CommandError(
                        f"line {number + 1} of the recording is longer than "
                        f"{MAX_CAST_LINE >> 20} MiB: cut it or extract the output as a log",
                        returncode=2,
                    )
                continue
            first, *complete, rest = chunk.split("\n")
            pending.append(first)
            yield "".join(pending)
            yield from complete
            number += 1 + len(complete)
            pending, size = [rest], len(rest)
        tail = "".join(pending)
        if tail:
            yield tail

    intervals = header.get("version") == 3

    def output() -> Iterator[Chunk]:
        offset = 0.0
        for line in lines():
            if line.startswith("#"):
                continue
            try:
                at, kind, data = json.loads(line)
                at = float(at)
            except (ValueError, TypeError):
                continue  # A torn last line of a crashed recording; skip it.
            if not isinstance(kind, str) or not isinstance(data, str):
                continue
            offset = offset + at if intervals else at
            yield Chunk(offset, kind, data)

    return output()


def text_of(stream: BinaryIO) -> Iterator[Chunk]:
    """A recording's events, or a plain file's text as output at time 0 (it has no timing)."""
    chunks = read_chunks(stream)
    head = ""
    for chunk in chunks:
        head += chunk
        if "\n" in head or len(head) > CHUNK_SIZE:
            break
    first_line = head.split("\n", 1)[0]
    if first_line.lstrip().startswith("{"):
        rest = head[len(first_line) + 1 :]

        def remaining() -> Iterator[str]:
            yield rest
            yield from chunks

        output = cast_output(first_line, remaining())
        if output is not None:
            return output

    def plain() -> Iterator[Chunk]:
        yield Chunk(0.0, "o", head)
        for chunk in chunks:
            yield Chunk(0.0, "o", chunk)

    return plain()


# Control characters other than tab and newline, C1 included (U+009B is a CSI, U+009D an OSC
# to a terminal that takes 8-bit controls): printed, they would act on the reader's terminal.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape_control(m: re.Match) -> str:
    return f"\\x{ord(m.group(0)):02x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as a \\xNN escape instead."""
    return _CONTROLS.sub(_escape_control, text)


# json.dumps escapes C0 controls but leaves C1 ones as they are.
_JSON_C1 = {c: f"\\u{c:04x}" for c in range(0x80, 0xA0)}


class Command(BaseCommand):
    help = (
        "Extract errors, warnings, metrics, code blocks and prompts from plain text or log files "
        "and asciicast (.cast) recordings, v2 or v3 (their output is read), or - for stdin."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "files",
            nargs="+",
            metavar="FILE",
            help="a text or log file, or an asciicast (.cast) recording; - reads stdin",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object per event")
        parser.add_argument("--rules", metavar="RULES.toml", help="user rules (see docs/rules.md)")

    def handle(self, *args, **options) -> None:
        try:
            rules = load_rules(options["rules"])
        except RulesError as exc:
            raise CommandError(f"bad rules file: {exc}", returncode=2) from None
        counts: Counter[str] = Counter()
        for name in options["files"]:
            for row in self.extract_file(name, rules):
                counts[row["event_type"]] += 1
                self.stdout.write(self.format_event(name, row, options["json"]))
        if not options["json"]:
            summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "no events"
            self.stdout.write(f"-- {sum(counts.values())} events: {summary}")

    def extract_file(self, name: str, rules) -> Iterator[dict]:
        """The pipeline's rows for one file (``extraction.event_shape.ROW_FIELDS``), numbered
        from 1 by ``seq`` as a tap numbers a session's."""
        pipeline = Pipeline(rules=rules, redact=True)
        if name == "-":
            stream = sys.stdin.buffer
        else:
            try:
                stream = open(name, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(f"cannot read {name}: {exc.strerror}", returncode=2) from None
        try:
            for rows in replay(pipeline, text_of(stream)):
                yield from rows
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()

    def format_event(self, name: str, row: dict, as_json: bool) -> str:
        if as_json:
            # The EVENT shape of the API and the live feed (no session, time or agent here:
            # seq numbers the file's events as a tap numbers a session's). "type",
            # "start_line" and "end_line" are the old names, kept for one release (deprecated).
            found = {key: row[key] for key in FOUND_FIELDS}
            data = {"file": name, **event_json(found, seq=row["seq"])}
            data.update(
                type=row["event_type"], start_line=row["line_start"], end_line=row["line_end"]
            )
            return json.dumps(data, ensure_ascii=False).translate(_JSON_C1)
        first = printable(row["content"].split("\n", 1)[0][:120])
        where = printable(f"{name}:{row['line_start']}")
        return f"{where:<28} {row['event_type']:<10} {row['rule']:<20} {first}"
