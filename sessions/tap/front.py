"""What the reader does with each chunk of the program's output, and nothing more.

Redact (secrets split across chunks), record (the write-ahead log), publish the terminal output,
and hand the recorded text to the extraction, which runs elsewhere (``extraction_process``). The
reader's interface is the one ``ChildRunner`` uses: ``feed``, ``settle``, ``idle``, ``holding_secret``,
``release_overdue``, ``last_offset``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from extraction.engine import StreamRedactor
from extraction.engine.pipeline import RedactedOutput


class RecordingFront(RedactedOutput):
    def __init__(
        self,
        *,
        extraction,
        redactor: StreamRedactor | None = None,
        recorder=None,
        on_output: Callable[[int, float, str], None] | None = None,
    ):
        """``extraction``: anything with ``feed(offset, text)``, ``settle()``, ``idle()`` and
        ``resize(cols, rows)`` (an ExtractionProcess, or a fake in tests)."""
        super().__init__(redactor=redactor, recorder=recorder, on_output=on_output)
        self.extraction = extraction
        # The screen lives with the extraction; the reader has none of its own.
        self.screen = None
        # The recorder is written by the reader (output) and by the thread routing the
        # extraction's events (markers).
        self._record_lock = threading.Lock()

    def release_overdue(self, offset: float) -> None:
        """A possible secret start held for StreamRedactor.HOLD_SECONDS goes out, replaced whole
        (as ``Pipeline.release_overdue`` does on a replay)."""
        if not self.holding_secret:
            return
        tail = self.redactor.release_overdue(offset)
        if tail:
            self._output(self.last_offset, tail)
            self.extraction.idle()

    def settle(self) -> None:
        """A short pause: the extraction finishes a block that stands complete. Held text stays
        held (a secret's second half may follow), as ``Pipeline.settle`` does on a replay."""
        self.extraction.settle()

    def idle(self) -> None:
        """The program has gone quiet: held text goes out (not a possible secret's start),
        then the extraction looks for a prompt."""
        self._flush_held(final=False)
        self.extraction.idle()

    def end_output(self) -> None:
        """The output has ended: what the redactor still holds is recorded and handed on (the
        extraction's own close then looks for the last prompt)."""
        self._flush_held(final=True)

    def close_recording(self) -> None:
        """After the extraction's last markers."""
        if self.recorder is not None:
            with self._record_lock:
                self.recorder.close()

    def _flush_held(self, final: bool) -> None:
        if self.redactor is not None:
            tail = self.redactor.flush(final=final, now=self.last_offset)
            if tail:
                # At the time of the chunk it belongs to, as Pipeline.idle records it.
                self._output(self.last_offset, tail)

    def markers(self, markers: list[tuple[float, str]]) -> None:
        """Events' markers ``(offset, label)``, each at its event's time, in one write. They may
        follow output recorded after that time when the extraction runs behind; readers take
        markers by their time. (A write per marker was a fifth of the tap's CPU on the heavy
        bench input: 50,285 events.)"""
        if self.recorder is not None and markers:
            with self._record_lock:
                for offset, label in markers:
                    self.recorder.marker(offset, label)
                self.recorder.flush()

    def resize(self, offset: float, cols: int, rows: int) -> None:
        if self.recorder is not None:
            with self._record_lock:
                self.recorder.resize(offset, cols, rows)
        self.extraction.resize(cols, rows)

    def _output(self, offset: float, text: str) -> None:
        self._advance(offset, text)
        if self.recorder is not None:
            # Output reaches the disk before anything is derived from it (write-ahead).
            with self._record_lock:
                self.recorder.output(offset, text)
                self.recorder.flush()
        self.extraction.feed(offset, text)
        if self.on_output is not None:
            self.on_output(self.oseq, offset, text)
