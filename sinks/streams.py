"""The batching writer of viewer_samples, streams (session rows) and channels, and its Bytewax sink.

Contract of :class:`StreamsWriter`:
* ``add(batch)`` buffers; it flushes when ``batch_rows`` rows wait or the oldest has waited
  ``flush_interval_s`` (checked on every ``add``; the dataflow sends empty batches as ticks).
* Session rows are whole-row snapshots with a version: within a buffer only the newest row of each
  (channel_id, stream_id) is inserted (ReplacingMergeTree(version) would keep it anyway).
* Connection failures are retried with capped backoff, never dropping rows; ``on_flush(samples,
  sessions)`` reports what each flush stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bytewax.outputs import DynamicSink, FixedPartitionedSink, StatefulSinkPartition, StatelessSinkPartition
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from streamscope.twitch.sessions import STREAM_COLUMNS

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = (
    "channel_id", "channel", "sampled_at", "viewers", "stream_id", "started_at", "game_id", "game",
    "title", "language", "source",
)  # fmt: skip
_CHANNEL_COLUMNS = ("channel_id", "login", "first_seen", "last_seen")


@dataclass(slots=True)
class StreamsBatch:
    """Rows in the column orders above; ``channels`` maps channel id -> login seen."""

    samples: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)
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
        self._samples: list[tuple[Any, ...]] = []
        self._sessions: dict[tuple[int, str], tuple[Any, ...]] = {}
        self._channels: dict[int, tuple[str, int, int]] = {}
        self._oldest: float | None = None

    def add(self, batch: StreamsBatch) -> None:
        self._samples.extend(batch.samples)
        for row in batch.sessions:
            key = (row[0], row[2])
            old = self._sessions.get(key)
            if old is None or row[-1] >= old[-1]:
                self._sessions[key] = row
        seen_at = max((r[2] for r in batch.samples), default=int(time.time() * 1000))
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
        """Insert everything buffered; (samples, session rows) inserted."""
        samples, sessions = self._samples, list(self._sessions.values())
        channels = [(cid, login, first, last) for cid, (login, first, last) in self._channels.items()]
        self._samples, self._sessions, self._channels, self._oldest = [], {}, {}, None
        if samples:
            self._retrying(
                lambda: self._client.insert("viewer_samples", samples, column_names=SAMPLE_COLUMNS)
            )
        if sessions:
            self._retrying(lambda: self._client.insert("streams", sessions, column_names=STREAM_COLUMNS))
        if channels:
            self._retrying(lambda: self._client.insert("channels", channels, column_names=_CHANNEL_COLUMNS))
        if self._on_flush is not None and (samples or sessions):
            self._on_flush(len(samples), len(sessions))
        return len(samples), len(sessions)

    def _retrying(self, insert: Callable[[], object]) -> None:
        delay = 0.2
        while True:
            try:
                insert()
                return
            except OperationalError as exc:
                log.warning("warehouse unreachable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, self._max_backoff)

    def close(self) -> None:
        self.flush()


class StreamsSink(DynamicSink[StreamsBatch]):
    """Bytewax adapter: one :class:`StreamsWriter` per worker, built from ``client_factory``."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        *,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[int, int], None] | None = None,
    ) -> None:
        self._factory = client_factory
        self._batch_rows = batch_rows
        self._interval = flush_interval_s
        self._on_flush = on_flush

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        writer = StreamsWriter(
            self._factory(),
            batch_rows=self._batch_rows,
            flush_interval_s=self._interval,
            on_flush=self._on_flush,
        )
        return _Partition(writer)


class _Partition(StatelessSinkPartition[StreamsBatch]):
    def __init__(self, writer: StreamsWriter) -> None:
        self._writer = writer

    def write_batch(self, items: list[StreamsBatch]) -> None:
        for batch in items:
            self._writer.add(batch)

    def close(self) -> None:
        self._writer.close()


class StreamsEpochSink(FixedPartitionedSink[StreamsBatch, None]):
    """Recoverable variant (distributed mode): items ``(key, StreamsBatch)``, one writer, flushed in
    every epoch's ``snapshot()`` so a committed epoch never has rows waiting in memory (as
    :class:`sinks.clickhouse.ClickHouseEpochSink`). Re-inserted rows after a crash are the same rows
    with the same versions, which the ReplacingMergeTree tables merge away."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        *,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[int, int], None] | None = None,
    ) -> None:
        self._factory = client_factory
        self._batch_rows = batch_rows
        self._interval = flush_interval_s
        self._on_flush = on_flush

    def list_parts(self) -> list[str]:
        return ["streams"]

    def part_fn(self, item_key: str) -> int:
        return 0

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _EpochPartition:
        writer = StreamsWriter(
            self._factory(),
            batch_rows=self._batch_rows,
            flush_interval_s=self._interval,
            on_flush=self._on_flush,
        )
        return _EpochPartition(writer)


class _EpochPartition(StatefulSinkPartition[StreamsBatch, None]):
    def __init__(self, writer: StreamsWriter) -> None:
        self._writer = writer

    def write_batch(self, values: list[StreamsBatch]) -> None:
        for batch in values:
            self._writer.add(batch)

    def snapshot(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
