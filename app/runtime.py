"""The process runtime: one :class:`Runtime`, built from Settings, owns what a process runs.

It owns the transport (the in-process bus, or Kafka when ``settings.kafka_brokers`` is set: the
only difference between embedded and distributed mode), the dataflows (each on a thread of its own,
run by Bytewax's production entry point ``bytewax.run.cli_main``, with a recovery store per dataflow
on Kafka), the publishers the sources write through, and the API. ``streamscope up``, ``replay``,
``demo``, ``serve``, ``source`` and ``pipeline`` are argument parsing around it.

Adding a dataflow is one module in ``pipelines/`` with a ``graph(FlowContext) -> Dataflow``
function, plus one line in :data:`DATAFLOWS`.

One process owns a chDB warehouse, so in embedded mode the dataflows and the API share the process
and open clients on the same directory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import uvicorn
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.run import cli_main
from clickhouse_connect.driver.client import Client

from streamscope.api.app import create_app
from streamscope.metrics import INGESTED_LINES
from streamscope.pipelines import chat, stats, streams, transcripts
from streamscope.pipelines.context import FlowContext
from streamscope.pipelines.transport import (
    Batching,
    BusTransport,
    KafkaTransport,
    Publisher,
    Transport,
    transport_for,
)
from streamscope.settings import Settings
from streamscope.sinks.clickhouse import FlushReport
from streamscope.topics import Topic
from streamscope.warehouse import connect, migrate

log = logging.getLogger(__name__)

#: Every dataflow a process can run, by name (``streamscope pipeline NAME``, recovery store names).
DATAFLOWS: dict[str, Callable[[FlowContext], Dataflow]] = {
    "chat": chat.graph,
    "streams": streams.graph,
    "stats": stats.graph,
    "transcripts": transcripts.graph,
}
#: Dataflows started only when asked for: transcripts needs the ``speech`` extra and a model.
ON_REQUEST: frozenset[str] = frozenset({"transcripts"})


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


class _Checked:
    """A publisher that first checks the dataflows still run (a dead dataflow would block it)."""

    def __init__(self, inner: Publisher, check: Callable[[], None]) -> None:
        self._inner, self._check = inner, check

    def publish(self, records: Sequence[object]) -> None:
        self._check()
        self._inner.publish(records)

    def close(self, timeout_s: float | None = None) -> int:
        return self._inner.close(timeout_s)


class Runtime:
    """Transport, dataflows, publishers and API of one process (see the module docstring).

    ``counters`` sums every flush of this process's dataflows (chat rows, dead letters, viewer
    samples, session rows). ``finish`` ends it all in order: publishers delivered, inputs stopped,
    dataflows drained (on the bus: every record published is stored first).
    """

    def __init__(self, settings: Settings, transport: Transport | None = None) -> None:
        self.settings = settings
        self.transport = transport if transport is not None else transport_for(settings)
        self.counters = FlushReport()
        self._lock = threading.Lock()
        self._dataflows: list[DataflowThread] = []
        self._publishers: list[Publisher] = []
        #: The migrated warehouse client of :meth:`prepare`, which the API reuses.
        self._client: Client | None = None

    @classmethod
    def embedded(cls, settings: Settings) -> Runtime:
        """A runtime on the in-process bus whatever ``settings.kafka_brokers`` says (a replay)."""
        return cls(settings, BusTransport(Batching.from_settings(settings)))

    def prepare(self) -> None:
        """Create or upgrade the warehouse schema; on Kafka, create the missing topics."""
        self._client = connect(self.settings.clickhouse_url, self.settings.clickhouse_database)
        migrate(self._client)
        self.prepare_topics()

    def prepare_topics(self) -> None:
        """On Kafka, create the missing topics (existing ones are never altered)."""
        if isinstance(self.transport, KafkaTransport):
            self.transport.ensure_topics()

    def _on_flush(self, report: FlushReport) -> None:
        with self._lock:
            self.counters.add(report)
        count_flush(report)

    def context(self, writers: int | None = None) -> FlowContext:
        """The context every graph of this process is built from."""
        return FlowContext.from_settings(
            self.settings, self.transport, writers=writers, on_flush=self._on_flush
        )

    def _recovery(self, name: str) -> RecoveryConfig | None:
        return recovery_config(self.settings, name) if self.transport.recoverable else None

    def start_dataflows(self, names: Sequence[str] | None = None) -> Runtime:
        """Run the named dataflows on threads of their own (with recovery on Kafka); by default
        every dataflow but those of :data:`ON_REQUEST` (``up --transcribe`` adds transcripts)."""
        s = self.settings
        if names is None:
            names = [n for n in DATAFLOWS if n not in ON_REQUEST]
        for name in names:
            flow = DATAFLOWS[name](self.context())
            recovery = self._recovery(name)

            def run(flow: Dataflow = flow, recovery: RecoveryConfig | None = recovery) -> None:
                cli_main(
                    flow,
                    workers_per_process=s.pipeline_workers,
                    epoch_interval=timedelta(seconds=s.snapshot_interval_s),
                    recovery_config=recovery,
                )

            self._dataflows.append(DataflowThread(name, run).start())
        return self

    def run_dataflow(
        self, name: str, *, process_id: int | None = None, addresses: list[str] | None = None
    ) -> None:
        """Run one dataflow in the foreground, as this process's part of a Bytewax cluster
        (``streamscope pipeline``); Ctrl-C raises ``KeyboardInterrupt``."""
        s = self.settings
        writers = s.pipeline_workers * (len(addresses) if addresses else 1)
        cli_main(
            DATAFLOWS[name](self.context(writers)),
            workers_per_process=s.pipeline_workers,
            process_id=process_id,
            addresses=addresses,
            epoch_interval=timedelta(seconds=s.snapshot_interval_s),
            recovery_config=self._recovery(name),
        )

    def check(self) -> None:
        """Raise when a dataflow of this process failed."""
        for thread in self._dataflows:
            thread.check()

    def alive(self) -> bool:
        return bool(self._dataflows) and all(t.alive() for t in self._dataflows)

    def publisher(self, topic: Topic, source: str) -> Publisher:
        """A publisher of ``topic`` for the source called ``source``; closed by :meth:`finish`."""
        inner = self.transport.publisher(topic, source)
        self._publishers.append(inner)
        return _Checked(inner, self.check) if self._dataflows else inner

    def close_publishers(self, timeout_s: float = 60) -> int:
        """Wait up to ``timeout_s`` for every publisher's records to be delivered; how many were not."""
        left = sum(p.close(timeout_s) for p in self._publishers)
        self._publishers.clear()
        return left

    def finish(self, timeout: float | None = None) -> FlushReport:
        """Stop the inputs, wait for the dataflows' last flushes, re-raise a dataflow failure.

        On the bus the dataflows first drain what was published; on Kafka they stop after their
        current batches (a restart resumes from the last snapshot).
        """
        self.transport.stop()
        for thread in self._dataflows:
            thread.join(timeout)
        return self.counters

    def serve(
        self, before: Callable[[], None] | None = None, after: Callable[[], None] | None = None
    ) -> None:
        """Serve the API on ``settings.api_host:api_port`` until Ctrl-C; ``before`` runs once the
        app is built, ``after`` when the server has stopped."""
        s = self.settings
        client = self._client
        if client is None:  # not prepared (``serve`` alone): create or upgrade the schema here
            client = connect(s.clickhouse_url, s.clickhouse_database)
            migrate(client)
        application = create_app(settings=s, client=client)
        server = uvicorn.Server(
            # Live (SSE) streams never end by themselves: after 5 s of graceful shutdown they are cut.
            uvicorn.Config(
                application, host=s.api_host, port=s.api_port, log_level="info", timeout_graceful_shutdown=5
            )
        )
        if before is not None:
            before()
        try:
            server.run()
        except KeyboardInterrupt:
            pass  # uvicorn re-raises Ctrl-C after its graceful shutdown; ours follows in `after`
        finally:
            if after is not None:
                after()
