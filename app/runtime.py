"""Process wiring: the chat dataflow on its own thread, fed by the in-process bus or by Kafka.

One process owns a chDB warehouse, so the dataflow and the API run in the same process and open
clients on the same directory: :class:`EmbeddedIngest` (in-process bus) for ``streamscope up`` and
``replay``, :class:`KafkaIngest` (Kafka with Bytewax recovery) for ``streamscope up --kafka``.
:func:`recovery_config` prepares a dataflow's recovery store for both ``up --kafka`` and
``streamscope pipeline``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path

from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import run_main
from clickhouse_connect.driver.client import Client
from streamscope.pipelines import chat
from streamscope.sinks.clickhouse import FlushReport

from streamscope import topics
from streamscope.bus import TOPIC_IRC_RAW, InProcessBus
from streamscope.kafka import ensure_topics
from streamscope.metrics import INGESTED_LINES
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.warehouse import connect

log = logging.getLogger(__name__)


#: Totals since start: lines handled by the dataflow and where they went.
IngestCounters = FlushReport


class DataflowThread:
    """One dataflow run on a daemon thread; a failure is kept (and logged) for whoever asks.

    ``check()`` raises ``RuntimeError`` naming the dataflow when it failed, so a publisher learns at
    once that nothing reads its records any more; ``join`` waits for the end and then checks.
    """

    def __init__(self, name: str, target: Callable[[], object]) -> None:
        self.name = name
        self._target = target
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"{name}-dataflow", daemon=True)

    def _run(self) -> None:
        try:
            self._target()
        except BaseException as exc:  # surfaced by check()/join()
            log.exception("%s dataflow failed", self.name)
            self.error = exc

    def start(self) -> DataflowThread:
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread.is_alive()

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"the {self.name} dataflow failed: {self.error}") from self.error

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        self.check()


def count_flush(report: FlushReport) -> None:
    """Export one flush's outcome as ``ingested_lines_total``."""
    INGESTED_LINES.labels(result="stored").inc(report.messages + report.events)
    INGESTED_LINES.labels(result="rejected").inc(report.dead_letters)
    INGESTED_LINES.labels(result="control").inc(report.control)


def recovery_config(settings: Settings, dataflow: str, partitions: int = 1) -> RecoveryConfig:
    """The recovery store of ``dataflow`` under ``settings.recovery_dir``, created when missing.

    A new store gets ``partitions`` partitions; an existing one is used as it is (its snapshots
    are what a restart resumes from). Snapshots are kept for one snapshot interval after they are
    superseded, so a crash during a snapshot can still fall back to the previous one.
    """
    path = Path(settings.recovery_dir) / dataflow
    path.mkdir(parents=True, exist_ok=True)
    if not any(path.glob("part-*.sqlite3")):
        init_db_dir(path, partitions)
    return RecoveryConfig(path, timedelta(seconds=settings.snapshot_interval_s))


class EmbeddedIngest:
    """The bus plus the chat dataflow running on a background thread.

    ``publish`` may block when the dataflow falls behind (the bus is bounded), which is the
    backpressure a source wants. ``finish`` closes the topic, waits until everything published is
    stored and re-raises a dataflow failure.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedIngest:
        """An ingest into the settings' warehouse with the settings' batch sizes (not started)."""
        return cls(
            settings.clickhouse_url,
            settings.clickhouse_database,
            batch_rows=settings.sink_batch_rows,
            flush_interval_s=settings.sink_flush_interval_s,
        )

    def __init__(
        self,
        url: str,
        database: str,
        *,
        batch_rows: int = 5000,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.bus: InProcessBus[RawLine] = InProcessBus()
        self.counters = IngestCounters()
        self._url = url
        self._database = database
        self._batch_rows = batch_rows
        self._interval = flush_interval_s
        self._lock = threading.Lock()
        self._thread = DataflowThread("chat", self._run)

    def _client(self) -> Client:
        return connect(self._url, self._database)

    def _on_flush(self, report: FlushReport) -> None:
        with self._lock:
            self.counters.add(report)
        count_flush(report)

    def _run(self) -> None:
        chat.run(
            self.bus,
            self._client,
            batch_rows=self._batch_rows,
            flush_interval_s=self._interval,
            on_flush=self._on_flush,
        )

    def start(self) -> EmbeddedIngest:
        self._thread.start()
        return self

    def publish(self, records: Sequence[RawLine]) -> None:
        self._thread.check()
        self.bus.publish(TOPIC_IRC_RAW, records)

    def alive(self) -> bool:
        return self._thread.alive()

    def finish(self, timeout: float | None = None) -> IngestCounters:
        self.bus.close(TOPIC_IRC_RAW)
        self._thread.join(timeout)
        return self.counters


class KafkaIngest:
    """The Kafka dataflows with Bytewax recovery, each on a background thread (``up --kafka``).

    The chat dataflow (``twitch.irc.raw``) and the streams dataflow (Helix samples and EventSub
    payloads: viewer samples, sessions, EventSub chat) each keep their own recovery store under
    ``settings.recovery_dir``. ``start`` creates missing topics and starts reading where the stores
    say (the start of the topics the first time). ``finish`` ends both after their current batches,
    waits for the last flushes and re-raises a dataflow failure. A process killed at any moment
    resumes from the last committed epochs on restart: nothing is lost, re-read rows are deduplicated.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.kafka_brokers:
            raise ValueError("KafkaIngest needs settings.kafka_brokers")
        self.counters = IngestCounters()
        self.streams_samples = 0
        self.streams_sessions = 0
        self._settings = settings
        self._stop = threading.Event()
        self._threads: list[DataflowThread] = []
        self._lock = threading.Lock()

    def _on_flush(self, report: FlushReport) -> None:
        with self._lock:
            self.counters.add(report)
        count_flush(report)

    def _on_streams(self, samples: int, sessions: int) -> None:
        with self._lock:
            self.streams_samples += samples
            self.streams_sessions += sessions

    def _run(self, name: str, flow: Dataflow) -> None:
        s = self._settings
        run_main(
            flow,
            epoch_interval=timedelta(seconds=s.snapshot_interval_s),
            recovery_config=recovery_config(s, name),
        )

    def start(self) -> KafkaIngest:
        from streamscope.pipelines import streams

        s = self._settings
        assert s.kafka_brokers
        ensure_topics(s.kafka_brokers, topics.ALL, prefix=s.kafka_topic_prefix)
        flows = {
            "chat": chat.flow(s, stop=self._stop, on_flush=self._on_flush),
            "streams": streams.flow(
                s, stop=self._stop, on_flush=self._on_flush, on_streams_flush=self._on_streams
            ),
        }
        for name, flow in flows.items():
            self._threads.append(DataflowThread(name, partial(self._run, name, flow)).start())
        return self

    def alive(self) -> bool:
        return bool(self._threads) and all(t.alive() for t in self._threads)

    def finish(self, timeout: float | None = None) -> IngestCounters:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        return self.counters
