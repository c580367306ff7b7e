"""The search index over recorded output: one row per non-blank line, and where indexing got to.

The rows are derived data: everything here is rebuilt from the session's recording (the
write-ahead log, already redacted) by ``output_search.indexer``. Which text index serves the
search depends on the database (see migration 0001): an FTS5 table with the trigram tokenizer on
SQLite, a pg_trgm GIN index on PostgreSQL; both find a case-insensitive substring.
"""

from __future__ import annotations

from django.db import models

from sessions.models import ProcessSession


class OutputLine(models.Model):
    session = models.ForeignKey(ProcessSession, on_delete=models.CASCADE, related_name="+")
    # Numbered as the extractor numbers lines (1 + the newlines before it), so an event's
    # line_start and a search result name the same line.
    line = models.BigIntegerField()
    # When the line was complete (the time of the output chunk holding its newline).
    offset_seconds = models.FloatField()
    # Where the line starts in the recording: the "o" chunk (its number, its byte offset in the
    # file) and the character in that chunk's text. The terminal's window starts reading here.
    oseq = models.BigIntegerField()
    byte = models.BigIntegerField()
    col = models.IntegerField(default=0)
    text = models.TextField()

    class Meta:
        db_table = "output_lines"
        constraints = [
            # Re-indexing a recording writes the same rows again: ON CONFLICT DO NOTHING.
            # Also the "line N of session S" lookups of the terminal's window.
            models.UniqueConstraint(fields=["session", "line"], name="output_lines_session_line"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.line}"


class OutputIndexState(models.Model):
    """How far a session's recording has been indexed: indexing resumes here, in any process."""

    session = models.OneToOneField(
        ProcessSession, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The next recording line to read (a line start) and, for v3 recordings, the clock there.
    byte = models.BigIntegerField(default=0)
    clock = models.FloatField(default=0.0)
    # Complete output lines and "o" chunks seen so far.
    lines = models.BigIntegerField(default=0)
    oseq = models.BigIntegerField(default=0)
    # The unterminated line at ``byte`` (raw, bounded) and where it started.
    partial = models.TextField(blank=True, default="")
    partial_oseq = models.BigIntegerField(default=0)
    partial_byte = models.BigIntegerField(default=0)
    partial_col = models.IntegerField(default=0)
    # The session had ended and everything up to the end of its recording is indexed.
    complete = models.BooleanField(default=False)
    recording_size = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "output_index_state"

    def __str__(self) -> str:
        return f"{self.session_id}: {self.lines} lines"
