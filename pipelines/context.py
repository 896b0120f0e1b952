"""What every dataflow graph is built from: a transport, the warehouse, and how to write.

A graph function (``streamscope.pipelines.<name>.graph``) takes a :class:`FlowContext` and returns a
Bytewax ``Dataflow``; it adds operators only. Everything that touches the outside world happens
when the dataflow runs: ``warehouse()`` opens a client then (for a writer, or to seed state such as
the channel-id cache), and the transport's inputs connect then.

Sinks are epoch-aligned in both modes (:class:`~streamscope.sinks.bytewax_adapters.EpochWriterSink`):
items are ``(key, batch)``, routed by key to ``writers`` writers, each flushed on size, on interval
and at the end of every epoch. With recovery (Kafka) a committed epoch therefore never has rows
waiting in memory; on the bus, where nothing is recovered, the epoch flush is merely one more flush.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from streamscope.pipelines.transcriber import Chunking
from streamscope.pipelines.transport import Transport
from streamscope.pipelines.whisper import WhisperConfig
from streamscope.settings import Settings
from streamscope.sinks.clickhouse import ClickHouseEpochSink, FlushReport
from streamscope.sinks.stats import StatsConfig
from streamscope.sinks.streams import StreamsEpochSink
from streamscope.warehouse import connect


def _ignore(report: FlushReport) -> None:
    pass


@dataclass(frozen=True, slots=True)
class FlowContext:
    """The inputs of a graph function (see the module docstring).

    ``writers`` is the number of warehouse writers of each sink: use the total worker count of the
    cluster so every worker can own one. ``on_flush`` hears every flush of every sink of the flow
    (chat rows, dead letters, viewer samples, session rows), from writer threads.
    """

    transport: Transport
    warehouse: Callable[[], Client]
    writers: int = 1
    batch_rows: int = 5000
    flush_interval_s: float = 1.0
    on_flush: Callable[[FlushReport], None] = _ignore
    #: How the stats dataflow computes and closes windows (Settings ``stats_*``).
    stats: StatsConfig = StatsConfig()
    #: The speech model and how the transcripts dataflow cuts audio (Settings ``whisper_*``).
    whisper: WhisperConfig = WhisperConfig()
    chunking: Chunking = Chunking()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: Transport,
        *,
        writers: int | None = None,
        on_flush: Callable[[FlushReport], None] = _ignore,
    ) -> FlowContext:
        url, database = settings.clickhouse_url, settings.clickhouse_database
        return cls(
            transport,
            lambda: connect(url, database),
            writers=writers or settings.pipeline_workers,
            batch_rows=settings.sink_batch_rows,
            flush_interval_s=settings.sink_flush_interval_s,
            on_flush=on_flush,
            stats=StatsConfig.from_settings(settings),
            whisper=WhisperConfig.from_settings(settings),
            chunking=Chunking(max_lag_ms=round(settings.whisper_max_lag_s * 1000)),
        )

    def chat_sink(self) -> ClickHouseEpochSink:
        """Chat rows, events, channels and dead letters (``(key, RowBatch)`` items)."""
        return ClickHouseEpochSink(
            self.warehouse, partitions=self.writers, batch_rows=self.batch_rows,
            flush_interval_s=self.flush_interval_s, on_flush=self.on_flush,
        )  # fmt: skip

    def streams_sink(self) -> StreamsEpochSink:
        """Viewer samples and session rows (``(key, StreamsBatch)`` items)."""
        report = self.on_flush
        return StreamsEpochSink(
            self.warehouse, batch_rows=self.batch_rows, flush_interval_s=self.flush_interval_s,
            on_flush=lambda samples, sessions: report(FlushReport(samples=samples, sessions=sessions)),
        )  # fmt: skip
