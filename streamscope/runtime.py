"""Embedded mode wiring: the in-process bus, the chat dataflow on its own thread, and counters.

One process owns the chDB warehouse in embedded mode, so the dataflow and the API run in the same
process and open clients on the same directory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from pipelines import chat
from sinks.clickhouse import FlushReport
from streamscope.bus import TOPIC_IRC_RAW, InProcessBus
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.warehouse import connect

log = logging.getLogger(__name__)


#: Totals since start: lines handled by the dataflow and where they went.
IngestCounters = FlushReport


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
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def _client(self) -> Client:
        return connect(self._url, self._database)

    def _on_flush(self, report: FlushReport) -> None:
        with self._lock:
            self.counters.add(report)
        from api.metrics import INGESTED_LINES  # late: a bare replay never loads the API

        INGESTED_LINES.labels(result="stored").inc(report.messages + report.events)
        INGESTED_LINES.labels(result="rejected").inc(report.dead_letters)
        INGESTED_LINES.labels(result="control").inc(report.control)

    def _run(self) -> None:
        try:
            chat.run(
                self.bus,
                self._client,
                batch_rows=self._batch_rows,
                flush_interval_s=self._interval,
                on_flush=self._on_flush,
            )
        except BaseException as exc:  # surfaced to the caller by finish()
            log.exception("chat dataflow failed")
            self._error = exc

    def start(self) -> EmbeddedIngest:
        self._thread = threading.Thread(target=self._run, name="chat-dataflow", daemon=True)
        self._thread.start()
        return self

    def publish(self, records: Sequence[RawLine]) -> None:
        if self._error is not None:
            raise RuntimeError("the chat dataflow has stopped") from self._error
        self.bus.publish(TOPIC_IRC_RAW, records)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def finish(self, timeout: float | None = None) -> IngestCounters:
        self.bus.close(TOPIC_IRC_RAW)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._error is not None:
            raise RuntimeError(f"the chat dataflow failed: {self._error}") from self._error
        return self.counters
