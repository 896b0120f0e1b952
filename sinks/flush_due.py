"""When a buffering writer flushes: the one size-or-age rule of the chat, streams and transcripts
writers."""

from __future__ import annotations

import time


class FlushDue:
    """Due at ``batch_rows`` buffered rows, or ``interval_s`` after the first thing was buffered.

    Writers call :meth:`check` on every ``add`` (pipelines send empty batches as ticks while idle, so
    the age is checked even without new rows) and :meth:`reset` when their buffer is emptied."""

    def __init__(self, batch_rows: int, interval_s: float) -> None:
        self.batch_rows = batch_rows
        self.interval_s = interval_s
        self._oldest: float | None = None

    def check(self, rows: int, buffered: bool) -> bool:
        """True when the buffer should be flushed now. ``rows``: rows buffered; ``buffered``: whether
        anything is buffered at all (a writer may hold more than rows, e.g. channel names)."""
        now = time.monotonic()
        if self._oldest is None and buffered:
            self._oldest = now
        return rows >= self.batch_rows or (self._oldest is not None and now - self._oldest >= self.interval_s)

    def reset(self) -> None:
        self._oldest = None
