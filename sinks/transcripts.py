"""The batching writer of ``transcript_segments`` and ``transcript_gaps``, and its Bytewax sink.

Rows arrive keyed by channel login with ``channel_id`` 0 and ``stream_id`` empty; the writer fills
both at flush time: the id from the ``channels`` table (cached; an unknown login is asked again at
most every ``id_retry_s``, and stored with 0 until then, which readers also match by login), the
stream session from ``streams`` (the session of the channel with ``started_at <= start <
ended_at``, or still live; the newest-started where sessions overlap, as for moments:
:func:`streamscope.sinks.streams.session_at`). Contract otherwise as
:class:`streamscope.sinks.streams.StreamsWriter`: flushed on size, on interval and at every epoch
(:class:`TranscriptsEpochSink`), connection failures retried without dropping rows, refused rows
dead-lettered (stage ``insert``), and a row written twice is one row under the tables'
ReplacingMergeTree keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from streamscope.sinks.bytewax_adapters import EpochWriterSink
from streamscope.sinks.flush_due import FlushDue
from streamscope.sinks.isolate import DeadLetteringInserts
from streamscope.sinks.streams import session_at, sessions_between
from streamscope.warehouse.rows import (
    TRANSCRIPT_GAP_COLUMNS,
    TRANSCRIPT_SEGMENT_COLUMNS,
    TranscriptGapRow,
    TranscriptSegmentRow,
)


@dataclass(slots=True)
class TranscriptBatch:
    """Rows of one channel to write (``channel_id``/``stream_id`` filled by the writer)."""

    segments: list[TranscriptSegmentRow] = field(default_factory=list)
    gaps: list[TranscriptGapRow] = field(default_factory=list)


class TranscriptWriter:
    """Buffers and inserts :class:`TranscriptBatch` rows (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        *,
        batch_rows: int = 500,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[int, int], None] | None = None,
        max_backoff_s: float = 30.0,
        id_retry_s: float = 30.0,
    ) -> None:
        self._client = client
        self._due = FlushDue(batch_rows, flush_interval_s)
        self._on_flush = on_flush
        self._max_backoff = max_backoff_s
        self._id_retry = id_retry_s
        self._segments: list[TranscriptSegmentRow] = []
        self._gaps: list[TranscriptGapRow] = []
        self._ids: dict[str, int] = {}
        self._asked: dict[str, float] = {}

    def add(self, batch: TranscriptBatch) -> None:
        self._segments.extend(batch.segments)
        self._gaps.extend(batch.gaps)
        pending = len(self._segments) + len(self._gaps)
        if self._due.check(pending, pending > 0):
            self.flush()

    def flush(self) -> tuple[int, int]:
        """Insert everything buffered; (segments, gaps) stored."""
        segments, gaps = self._segments, self._gaps
        if not segments and not gaps:
            self._due.reset()
            return 0, 0
        ids = self._channel_ids({r.channel for r in segments} | {r.channel for r in gaps})
        segments = self._with_streams([r._replace(channel_id=ids.get(r.channel, 0)) for r in segments])
        gaps = [r._replace(channel_id=ids.get(r.channel, 0)) for r in gaps]
        inserts = DeadLetteringInserts(self._client, self._max_backoff)
        stored = inserts.insert("transcript_segments", TRANSCRIPT_SEGMENT_COLUMNS, segments)
        stored_gaps = inserts.insert("transcript_gaps", TRANSCRIPT_GAP_COLUMNS, gaps)
        inserts.store_dead_letters()
        self._segments, self._gaps = [], []
        self._due.reset()
        if self._on_flush is not None:
            self._on_flush(stored, stored_gaps)
        return stored, stored_gaps

    def _channel_ids(self, logins: set[str]) -> dict[str, int]:
        now = time.monotonic()
        ask = [
            lg for lg in logins if lg not in self._ids and now - self._asked.get(lg, -1e9) >= self._id_retry
        ]
        if ask:
            for lg in ask:
                self._asked[lg] = now
            rows = self._client.query(
                "SELECT login, argMax(channel_id, last_seen) FROM channels"
                " WHERE login IN {logins:Array(String)} GROUP BY login",
                parameters={"logins": ask},
            ).result_rows
            self._ids.update({str(lg): int(cid) for lg, cid in rows})
        return self._ids

    def _with_streams(self, rows: list[TranscriptSegmentRow]) -> list[TranscriptSegmentRow]:
        by_channel: dict[int, list[int]] = {}
        for r in rows:
            if r.channel_id:
                by_channel.setdefault(r.channel_id, []).append(r.start)
        sessions = {
            cid: sessions_between(self._client, cid, min(starts), max(starts))
            for cid, starts in by_channel.items()
        }
        out = []
        for r in rows:
            sid = session_at(sessions.get(r.channel_id, ()), r.start)
            out.append(r._replace(stream_id=sid) if sid else r)
        return out

    def close(self) -> None:
        self.flush()


class TranscriptsEpochSink(EpochWriterSink[TranscriptBatch]):
    """Items ``(channel, TranscriptBatch)``, ``partitions`` writers, flushed at every epoch (see
    :class:`streamscope.sinks.bytewax_adapters.EpochWriterSink`)."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        *,
        partitions: int = 1,
        flush_interval_s: float = 1.0,
        on_flush: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(
            lambda: TranscriptWriter(client_factory(), flush_interval_s=flush_interval_s, on_flush=on_flush),
            partitions=partitions,
            name="transcripts",
        )
