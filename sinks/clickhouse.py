"""The batching ClickHouse writer and its thin Bytewax adapter.

Contract of :class:`WarehouseWriter`:
* ``add(batch)`` buffers the rows of one :class:`~streamscope.twitch.irc.rows.RowBatch`; it flushes
  when the buffer holds ``batch_rows`` rows or the oldest buffered row has waited
  ``flush_interval_s`` (checked on every ``add``; pipelines send empty batches as ticks when idle).
* A flush inserts each table's buffer in one INSERT. Transient failures (the server unreachable) are
  retried with capped backoff and never drop rows. A batch the server rejects as data is split in
  halves until the offending rows are isolated; those go to ``dead_letters`` with the server's reason
  (stage ``insert``) and everything else is stored.
* With ``background=True`` (what the Bytewax sink uses) inserts run on a writer thread, overlapping
  with parsing; ``flush``/``close`` wait for them, and a writer failure is raised on the next call.
* Rows are idempotent in the warehouse (ReplacingMergeTree on Twitch's own ids), so a flush repeated
  after a crash doubles nothing a query can see.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope import metrics
from streamscope.sinks.bytewax_adapters import EpochWriterSink
from streamscope.sinks.flush_due import FlushDue
from streamscope.sinks.isolate import insert_rows, retry_unreachable
from streamscope.twitch.irc.rows import (
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    MESSAGE_COLUMNS,
    RowBatch,
    rebuild_message_line,
)
from streamscope.warehouse.rows import CHANNEL_COLUMNS, ChannelRow

log = logging.getLogger(__name__)

_MSG_CHANNEL = MESSAGE_COLUMNS.index("channel_id")
_MSG_SENT = MESSAGE_COLUMNS.index("sent_at")
_DEAD_STAGE = DEAD_LETTER_COLUMNS.index("stage")


@dataclass(slots=True)
class FlushReport:
    """What one flush stored, or (summed with :meth:`add`) everything since start."""

    messages: int = 0
    events: int = 0
    dead_letters: int = 0
    control: int = 0
    lines: int = 0
    #: Written by the streams writer: viewer samples and stream-session rows.
    samples: int = 0
    sessions: int = 0
    #: Written by the transcripts writer: transcript segments and gap rows.
    segments: int = 0
    gaps: int = 0

    def add(self, other: FlushReport) -> None:
        """Accumulate ``other`` into these totals."""
        self.messages += other.messages
        self.events += other.events
        self.dead_letters += other.dead_letters
        self.control += other.control
        self.lines += other.lines
        self.samples += other.samples
        self.sessions += other.sessions
        self.segments += other.segments
        self.gaps += other.gaps


@dataclass(slots=True)
class _Buffer:
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)
    channels: dict[int, str] = field(default_factory=dict)
    control: int = 0

    def rows(self) -> int:
        return len(self.messages) + len(self.events) + len(self.dead_letters)


class WarehouseWriter:
    """Buffers parsed rows and inserts them in large batches (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        *,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[FlushReport], None] | None = None,
        max_backoff_s: float = 30.0,
        background: bool = False,
    ) -> None:
        self._client = client
        self._due = FlushDue(batch_rows, flush_interval_s)
        self._on_flush = on_flush
        self._max_backoff = max_backoff_s
        self._buf = _Buffer()
        # background=True: inserts run on one writer thread while the caller goes on parsing (the
        # engine does much of an insert outside the GIL). At most one buffer waits behind the one
        # being written, so memory stays bounded and a slow warehouse slows the dataflow down.
        self._queue: queue.Queue[_Buffer | None] | None = None
        self._done = FlushReport()
        self._done_lock = threading.Lock()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=1)
            self._thread = threading.Thread(target=self._drain, name="warehouse-writer", daemon=True)
            self._thread.start()

    def add(self, batch: RowBatch) -> None:
        buf = self._buf
        buf.messages.extend(batch.messages)
        buf.events.extend(batch.events)
        buf.dead_letters.extend(batch.dead_letters)
        buf.channels.update(batch.channels)
        buf.control += batch.control
        if self._due.check(buf.rows(), bool(buf.rows() or buf.control)):
            self._submit()

    def flush(self) -> FlushReport:
        """Write everything buffered now; returns what was written since the previous ``flush``."""
        self._submit()
        if self._queue is not None:
            self._queue.join()
        self._raise_failure()
        with self._done_lock:
            done, self._done = self._done, FlushReport()
        return done

    def _submit(self) -> None:
        self._raise_failure()
        buf, self._buf = self._buf, _Buffer()
        self._due.reset()
        if not buf.rows() and not buf.control:
            return
        if self._queue is None:
            self._write(buf)
        else:
            self._queue.put(buf)

    def _drain(self) -> None:
        assert self._queue is not None
        while True:
            buf = self._queue.get()
            if buf is None:  # close(): everything before it was written
                self._queue.task_done()
                return
            try:
                if self._failure is None:
                    self._write(buf)
            except BaseException as exc:  # re-raised in the dataflow's thread by the next call
                self._failure = exc
            finally:
                self._queue.task_done()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"warehouse writer failed: {self._failure}") from self._failure

    def _write(self, buf: _Buffer) -> None:
        started = time.perf_counter()
        report = FlushReport(control=buf.control)
        rejected: list[tuple[Any, ...]] = []
        report.messages = self._insert("chat_messages", MESSAGE_COLUMNS, buf.messages, rejected)
        report.events = self._insert("chat_events", EVENT_COLUMNS, buf.events, rejected)
        self._insert_channels(buf)
        dead = buf.dead_letters + rejected
        if dead:
            self._retrying(
                lambda: self._client.insert("dead_letters", dead, column_names=DEAD_LETTER_COLUMNS)
            )
        report.dead_letters = len(dead)
        report.lines = report.messages + report.events + report.dead_letters + report.control
        metrics.FLUSH_SECONDS.observe(time.perf_counter() - started)
        metrics.FLUSH_ROWS.observe(report.messages + report.events + report.dead_letters)
        for row in dead:
            metrics.DEAD_LETTERS.labels(stage=row[_DEAD_STAGE]).inc()
        with self._done_lock:
            self._done.add(report)
        if self._on_flush is not None and report.lines:
            self._on_flush(report)

    def _insert_channels(self, buf: _Buffer) -> None:
        if not buf.messages and not buf.channels:
            return
        seen: dict[int, list[int]] = {}
        for row in buf.messages:
            cid, ts = row[_MSG_CHANNEL], row[_MSG_SENT]
            span = seen.get(cid)
            if span is None:
                seen[cid] = [ts, ts]
            elif ts < span[0]:
                span[0] = ts
            elif ts > span[1]:
                span[1] = ts
        now_ms = int(time.time() * 1000)
        rows = [
            ChannelRow(cid, login, *seen.get(cid, (now_ms, now_ms)))
            for cid, login in buf.channels.items()
            if cid
        ]
        if rows:
            self._retrying(lambda: self._client.insert("channels", rows, column_names=CHANNEL_COLUMNS))

    def _insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        rejected: list[tuple[Any, ...]],
    ) -> int:
        """Insert ``rows``; rows the server refuses as data are appended to ``rejected``."""
        return insert_rows(
            self._client, table, columns, rows,
            lambda row, exc: rejected.append(_dead_letter_for(table, columns, row, exc)), self._max_backoff,
        )  # fmt: skip

    def _retrying(self, insert: Callable[[], object]) -> None:
        retry_unreachable(insert, self._max_backoff)

    def close(self) -> None:
        """Flush and end the writer thread (the writer is done after this). The client is the
        caller's: factories may hand the same client to several writers, so it stays open."""
        try:
            self.flush()
        finally:
            if self._queue is not None and self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=30)


def _dead_letter_for(
    table: str, columns: Sequence[str], row: tuple[Any, ...], exc: Exception
) -> tuple[Any, ...]:
    values = dict(zip(columns, row, strict=True))
    raw = values.get("raw") or ""
    if not raw and table == "chat_messages":
        try:
            raw = rebuild_message_line(values)
        except Exception:  # the row is broken already; keep every value instead
            raw = ""
    raw = raw or repr(values)
    reason = f"insert into {table} failed: {str(exc).splitlines()[0][:500]}"
    return (
        values.get("received_at", int(time.time() * 1000)),
        values.get("source", ""),
        values.get("channel", ""),
        "insert",
        reason,
        raw,
    )


def _background_writers(
    client_factory: Callable[[], Client],
    batch_rows: int,
    flush_interval_s: float,
    on_flush: Callable[[FlushReport], None] | None,
) -> Callable[[], WarehouseWriter]:
    """Makes one background :class:`WarehouseWriter` per sink partition (a client of its own each)."""
    return lambda: WarehouseWriter(
        client_factory(),
        batch_rows=batch_rows,
        flush_interval_s=flush_interval_s,
        on_flush=on_flush,
        background=True,
    )


class ClickHouseEpochSink(EpochWriterSink[RowBatch]):
    """Bytewax adapter for recoverable dataflows: every epoch's rows are stored before it commits.

    Items are ``(key, RowBatch)`` routed to ``partitions`` background :class:`WarehouseWriter`s
    (see :class:`streamscope.sinks.bytewax_adapters.EpochWriterSink` for the routing and the epoch flush).
    """

    def __init__(
        self,
        client_factory: Callable[[], Client],
        *,
        partitions: int = 1,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[FlushReport], None] | None = None,
    ) -> None:
        writers = _background_writers(client_factory, batch_rows, flush_interval_s, on_flush)
        super().__init__(writers, partitions=partitions)
