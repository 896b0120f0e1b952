"""The batching writer of viewer_samples, streams (session rows) and channels, and its Bytewax sink.

Contract of :class:`StreamsWriter`:
* ``add(batch)`` buffers; it flushes when ``batch_rows`` rows wait or the oldest has waited
  ``flush_interval_s`` (checked on every ``add``; the dataflow sends empty batches as ticks).
* Session rows are whole-row snapshots with a version: within a buffer only the newest row of each
  (channel_id, stream_id) is inserted (ReplacingMergeTree(version) would keep it anyway).
* Connection failures are retried with capped backoff, never dropping rows; ``on_flush(samples,
  sessions)`` reports what each flush stored.
* A table's INSERT the warehouse (or the client, while encoding) refuses as data is split in halves
  until the refused rows are isolated (:class:`streamscope.sinks.isolate.DeadLetteringInserts`, as for
  chat); those rows go to ``dead_letters`` (stage ``insert``, the error as reason, the row as JSON) and
  every other row is stored. Rows leave the buffer only once stored or dead-lettered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from clickhouse_connect.driver.client import Client

from streamscope.sinks.bytewax_adapters import EpochWriterSink
from streamscope.sinks.flush_due import FlushDue
from streamscope.sinks.isolate import DeadLetteringInserts
from streamscope.timeutil import MAX_MS
from streamscope.warehouse.rows import (
    CHANNEL_COLUMNS,
    SAMPLE_COLUMNS,
    STREAM_COLUMNS,
    ChannelRow,
    StreamRow,
    ViewerSampleRow,
)


@dataclass(slots=True)
class StreamsBatch:
    """Rows to write; ``channels`` maps channel id -> login seen."""

    samples: list[ViewerSampleRow] = field(default_factory=list)
    sessions: list[StreamRow] = field(default_factory=list)
    channels: dict[int, str] = field(default_factory=dict)


class SessionSpan(NamedTuple):
    """A stored stream session's bounds, epoch ms; ``end`` is :data:`~streamscope.timeutil.MAX_MS`
    while it is live."""

    stream_id: str
    start: int
    end: int

    def covers(self, at_ms: int) -> bool:
        """``start <= at_ms < end``: the channel was live in this session at ``at_ms``."""
        return self.start <= at_ms < self.end


def sessions_between(client: Client, channel_id: int, lo_ms: int, hi_ms: int) -> list[SessionSpan]:
    """The channel's stored sessions live at some time of ``[lo_ms, hi_ms]``, newest start first
    (so the first that :meth:`~SessionSpan.covers` a time is the session of that time, also where
    stored sessions overlap)."""
    rows = client.query(
        "SELECT stream_id, toUnixTimestamp64Milli(started_at),"
        " ifNull(toUnixTimestamp64Milli(ended_at), {live:Int64}) FROM streams FINAL"
        " WHERE channel_id = {cid:UInt64}"
        " AND started_at <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')"
        " AND (ended_at IS NULL OR ended_at > fromUnixTimestamp64Milli({lo:Int64}, 'UTC'))"
        " ORDER BY started_at DESC",
        parameters={"cid": channel_id, "lo": lo_ms, "hi": hi_ms, "live": MAX_MS},
    ).result_rows
    return [SessionSpan(str(s), int(a), int(b)) for s, a, b in rows]


def session_at(sessions: Sequence[SessionSpan], at_ms: int) -> str:
    """The stream id of the session of ``sessions`` (newest start first) live at ``at_ms``, or ''."""
    return next((s.stream_id for s in sessions if s.covers(at_ms)), "")


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
        self._due = FlushDue(batch_rows, flush_interval_s)
        self._on_flush = on_flush
        self._max_backoff = max_backoff_s
        self._samples: list[ViewerSampleRow] = []
        self._sessions: dict[tuple[int, str], StreamRow] = {}
        self._channels: dict[int, tuple[str, int, int]] = {}

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
        pending = len(self._samples) + len(self._sessions)
        if self._due.check(pending, bool(pending or self._channels)):
            self.flush()

    def flush(self) -> tuple[int, int]:
        """Insert everything buffered; (samples, session rows) stored. Refused rows are dead-lettered."""
        samples, sessions = self._samples, list(self._sessions.values())
        channels = [
            ChannelRow(cid, login, first, last) for cid, (login, first, last) in self._channels.items()
        ]
        inserts = DeadLetteringInserts(self._client, self._max_backoff)
        stored = inserts.insert("viewer_samples", SAMPLE_COLUMNS, samples)
        stored_sessions = inserts.insert("streams", STREAM_COLUMNS, sessions)
        inserts.insert("channels", CHANNEL_COLUMNS, channels)
        inserts.store_dead_letters()
        # Emptied only now: rows are never lost to a failure in the middle of a flush (a repeated
        # INSERT of the same rows is merged away by the tables' keys).
        self._samples, self._sessions, self._channels = [], {}, {}
        self._due.reset()
        if self._on_flush is not None and (samples or sessions):
            self._on_flush(stored, stored_sessions)
        return stored, stored_sessions

    def close(self) -> None:
        self.flush()


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
