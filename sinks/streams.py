"""The batching writer of viewer_samples, streams (session rows) and channels, and its Bytewax sink.

Contract of :class:`StreamsWriter`:
* ``add(batch)`` buffers; it flushes when ``batch_rows`` rows wait or the oldest has waited
  ``flush_interval_s`` (checked on every ``add``; the dataflow sends empty batches as ticks).
* Session rows are whole-row snapshots with a version: within a buffer only the newest row of each
  (channel_id, stream_id) is inserted (ReplacingMergeTree(version) would keep it anyway).
* Connection failures are retried with capped backoff, never dropping rows; ``on_flush(samples,
  sessions)`` reports what each flush stored.
* A table's INSERT the warehouse (or the client, while encoding) refuses as data is split in halves
  until the refused rows are isolated (:func:`streamscope.sinks.isolate.insert_isolating`, as for chat);
  those rows go to ``dead_letters`` (stage ``insert``, the error as reason, the row as JSON) and every
  other row is stored. Rows leave the buffer only once stored or dead-lettered.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope import metrics
from streamscope.sinks.bytewax_adapters import EpochWriterSink
from streamscope.sinks.isolate import insert_rows, retry_unreachable
from streamscope.timeutil import MAX_MS
from streamscope.twitch.irc.rows import DEAD_LETTER_COLUMNS
from streamscope.warehouse.rows import (
    CHANNEL_COLUMNS,
    SAMPLE_COLUMNS,
    STREAM_COLUMNS,
    ChannelRow,
    StreamRow,
    ViewerSampleRow,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class StreamsBatch:
    """Rows to write; ``channels`` maps channel id -> login seen."""

    samples: list[ViewerSampleRow] = field(default_factory=list)
    sessions: list[StreamRow] = field(default_factory=list)
    channels: dict[int, str] = field(default_factory=dict)


class StreamsWriter:
    """Buffers and inserts :class:`StreamsBatch` rows (see the module contract)."""

    def __init__(
        self,
        client: Client,
        *,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[int, int], None] | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._client = client
        self._batch_rows = batch_rows
        self._interval = flush_interval_s
        self._on_flush = on_flush
        self._max_backoff = max_backoff_s
        self._samples: list[ViewerSampleRow] = []
        self._sessions: dict[tuple[int, str], StreamRow] = {}
        self._channels: dict[int, tuple[str, int, int]] = {}
        self._oldest: float | None = None

    def add(self, batch: StreamsBatch) -> None:
        self._samples.extend(batch.samples)
        for row in batch.sessions:
            key = (row.channel_id, row.stream_id)
            old = self._sessions.get(key)
            if old is None or row.version >= old.version:
                self._sessions[key] = row
        seen_at = max((r.sampled_at for r in batch.samples), default=int(time.time() * 1000))
        for cid, login in batch.channels.items():
            first = self._channels.get(cid, (login, seen_at, seen_at))[1]
            self._channels[cid] = (login, min(first, seen_at), seen_at)
        now = time.monotonic()
        pending = len(self._samples) + len(self._sessions)
        if self._oldest is None and (pending or self._channels):
            self._oldest = now
        if pending >= self._batch_rows or (self._oldest is not None and now - self._oldest >= self._interval):
            self.flush()

    def flush(self) -> tuple[int, int]:
        """Insert everything buffered; (samples, session rows) stored. Refused rows are dead-lettered."""
        samples, sessions = self._samples, list(self._sessions.values())
        channels = [
            ChannelRow(cid, login, first, last) for cid, (login, first, last) in self._channels.items()
        ]
        rejected: list[tuple[Any, ...]] = []
        stored = self._insert("viewer_samples", SAMPLE_COLUMNS, samples, rejected)
        stored_sessions = self._insert("streams", STREAM_COLUMNS, sessions, rejected)
        self._insert("channels", CHANNEL_COLUMNS, channels, rejected)
        if rejected:
            log.warning(
                "%d row(s) refused by the warehouse, dead-lettered: %s", len(rejected), rejected[0][4]
            )
            self._retrying(
                lambda: self._client.insert("dead_letters", rejected, column_names=DEAD_LETTER_COLUMNS)
            )
            metrics.DEAD_LETTERS.labels(stage="insert").inc(len(rejected))
        # Emptied only now: rows are never lost to a failure in the middle of a flush (a repeated
        # INSERT of the same rows is merged away by the tables' keys).
        self._samples, self._sessions, self._channels, self._oldest = [], {}, {}, None
        if self._on_flush is not None and (samples or sessions):
            self._on_flush(stored, stored_sessions)
        return stored, stored_sessions

    def _insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        rejected: list[tuple[Any, ...]],
    ) -> int:
        return insert_rows(
            self._client, table, columns, list(rows),
            lambda row, exc: rejected.append(refused_row(table, columns, row, exc)), self._max_backoff,
        )  # fmt: skip

    def _retrying(self, insert: Callable[[], object]) -> None:
        retry_unreachable(insert, self._max_backoff)

    def close(self) -> None:
        self.flush()


def refused_row(table: str, columns: Sequence[str], row: tuple[Any, ...], exc: Exception) -> tuple[Any, ...]:
    """The ``dead_letters`` row of a row ``table`` refused: stage ``insert``, the error's first line as
    reason, the row as JSON.

    Its time is the row's own observation time (``sampled_at``, else ``last_sample_at``,
    ``last_seen`` or ``started_at``)
    when that is a valid timestamp, so that a row refused again after a crash and a re-delivery gives
    the same dead letter, which ``dead_letters`` stores once. Only a row whose times are themselves
    invalid (what may have been refused) is dead-lettered at the current time."""
    values = dict(zip(columns, row, strict=False))
    channel = values.get("channel", values.get("login", ""))
    return (
        _observed_at(values),
        str(values.get("source", "")),
        channel if isinstance(channel, str) else repr(channel),
        "insert",
        f"insert into {table} failed: {(str(exc).splitlines() or [type(exc).__name__])[0][:500]}",
        json.dumps(values, default=repr),  # json, not orjson: ints beyond 64 bits are kept as written
    )


def _observed_at(values: dict[str, Any]) -> int:
    for name in ("sampled_at", "last_sample_at", "last_seen", "started_at"):
        at = values.get(name)
        if isinstance(at, int) and not isinstance(at, bool) and 0 <= at < MAX_MS:
            return at
    return int(time.time() * 1000)


def _writers(
    client_factory: Callable[[], Client],
    batch_rows: int,
    flush_interval_s: float,
    on_flush: Callable[[int, int], None] | None,
) -> Callable[[], StreamsWriter]:
    """Makes one :class:`StreamsWriter` per sink partition (a client of its own each)."""
    return lambda: StreamsWriter(
        client_factory(), batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_flush
    )


class StreamsEpochSink(EpochWriterSink[StreamsBatch]):
    """Recoverable variant (distributed mode): items ``(key, StreamsBatch)``, one writer, flushed in
    every epoch's ``snapshot()`` so a committed epoch never has rows waiting in memory (see
    :class:`streamscope.sinks.bytewax_adapters.EpochWriterSink`). Re-inserted rows after a crash are the same
    rows with the same versions, which the ReplacingMergeTree tables merge away."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        *,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(_writers(client_factory, batch_rows, flush_interval_s, on_flush), name="streams")
