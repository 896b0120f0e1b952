"""The chat dataflow: raw IRC lines → parse → enrich → batched ClickHouse sink.

Items flowing through it are batches (lists of :class:`~streamscope.records.RawLine`), so the
per-item cost of the dataflow is paid per batch. ``parse_enrich`` turns a batch into a
:class:`~streamscope.twitch.irc.rows.RowBatch` (message rows, event rows, dead letters, control-line
count); the sink buffers rows and inserts thousands at a time.

Run it inside one process with :func:`run` (embedded mode); :func:`build_flow` takes any Bytewax
source of raw-line batches and any sink of row batches. The distributed mode is :func:`kafka_flow`:
Kafka partitions in, batches decoded per partition (a message that breaks the topic contract is a
dead letter, stage ``decode``), and an epoch-aligned sink, so that with Bytewax recovery a crash
stores every message and shows none twice. ``python -m bytewax.run streamscope.pipelines.chat:flow`` runs it
from settings (:func:`flow`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import Sink
from bytewax.testing import run_main
from clickhouse_connect.driver.client import Client
from streamscope.sinks.clickhouse import ClickHouseEpochSink, ClickHouseSink, FlushReport
from streamscope.sinks.kafka import DeadLetterTopic
from streamscope.sources.bus_input import BusInput
from streamscope.sources.kafka_input import KafkaBatch, KafkaInput

from streamscope import metrics, topics
from streamscope.bus import TOPIC_IRC_RAW, Bus
from streamscope.kafka import decode_line, topic_name
from streamscope.records import RawLine
from streamscope.settings import Settings, get_settings
from streamscope.twitch.irc.rows import RowBatch, classify
from streamscope.warehouse import connect


class ParseEnrich:
    """Parse a batch of raw lines and enrich it with channel ids.

    Keeps a login → room-id cache learned from the lines themselves (PRIVMSG, ROOMSTATE, ... carry
    ``room-id``), so lines that lack it (CLEARMSG sends ``room-id=``) still get their channel id. The
    cache is only an optimisation of enrichment: losing it on restart loses nothing stored.
    """

    def __init__(
        self, channel_ids: dict[str, int] | None = None, dead_letter_topic: DeadLetterTopic | None = None
    ) -> None:
        self.channel_ids: dict[str, int] = channel_ids if channel_ids is not None else {}
        self._dead_letter_topic = dead_letter_topic
        self._lock = threading.Lock()

    def __call__(self, lines: Sequence[RawLine]) -> RowBatch:
        metrics.BATCH_LINES.observe(len(lines))
        with self._lock:
            return classify(lines, self.channel_ids)

    def kafka_batch(self, item: KafkaBatch) -> tuple[str, RowBatch]:
        """Decode one partition's batch of Kafka messages, then parse and enrich it."""
        key, records = item
        lines: list[RawLine] = []
        rejected: list[tuple[object, ...]] = []
        for m in records:
            key_bytes, value = m.key(), m.value()
            try:
                lines.append(decode_line(key_bytes, value, m.timestamp()[1], m.headers()))
            except ValueError as exc:
                raw = (value or b"").decode("utf-8", "backslashreplace")
                channel = (key_bytes or b"").decode("utf-8", "backslashreplace")
                reason = f"{exc} (Kafka partition {key}, offset {m.offset()})"
                rejected.append((max(m.timestamp()[1], 0), "kafka", channel, "decode", reason, raw))
                if self._dead_letter_topic is not None:
                    self._dead_letter_topic.send(
                        m.topic() or "", m.partition() or 0, m.offset() or 0, "decode", str(exc), value
                    )
        if rejected and self._dead_letter_topic is not None:
            self._dead_letter_topic.flush()  # rare; delivered before the batch's offsets can commit
        batch = self(lines)
        batch.dead_letters.extend(rejected)
        return key, batch


def known_channels(client: Client) -> dict[str, int]:
    """login → channel id for every channel the warehouse has seen (its latest id per login).

    Seeds :class:`ParseEnrich` at start, so lines without a room id (CLEARMSG) that arrive before the
    channel's first PRIVMSG after a restart still get their channel.
    """
    rows = client.query(
        "SELECT login, argMax(channel_id, last_seen) FROM channels GROUP BY login"
    ).result_rows
    return {str(login): int(cid) for login, cid in rows if login}


def build_flow(
    source: Source[list[RawLine]],
    sink: Sink[RowBatch],
    *,
    channel_ids: dict[str, int] | None = None,
    flow_id: str = "chat",
) -> Dataflow:
    """The chat dataflow from any source of raw-line batches to any sink of row batches."""
    flow = Dataflow(flow_id)
    raw = op.input("raw_lines", flow, source)
    rows = op.map("parse_enrich", raw, ParseEnrich(channel_ids))
    op.output("warehouse", rows, sink)
    return flow


def kafka_flow(
    brokers: str,
    topic: str,
    client_factory: Callable[[], Client],
    *,
    writers: int = 1,
    batch_rows: int = 5000,
    flush_interval_s: float = 1.0,
    start: str = "earliest",
    stop: threading.Event | None = None,
    on_flush: Callable[[FlushReport], None] | None = None,
    dead_letter_topic: str | None = None,
    flow_id: str = "chat",
) -> Dataflow:
    """The chat dataflow reading raw IRC lines from Kafka ``topic`` (distributed mode).

    Messages that break the topic contract go to the warehouse's ``dead_letters`` table and, when
    ``dead_letter_topic`` is given, are copied there too with their payload untouched.
    Run it with Bytewax recovery (``-r/-s/-b`` of ``bytewax.run``, or ``streamscope pipeline chat``)
    for effectively-once storage; ``writers`` is the number of warehouse writers (use the total
    worker count). Setting ``stop`` ends the flow after its current batches.
    """
    source = KafkaInput(
        brokers, topic, batch_size=min(batch_rows, 5000), tick_s=flush_interval_s / 2, start=start, stop=stop
    )
    sink = ClickHouseEpochSink(
        client_factory,
        partitions=writers,
        batch_rows=batch_rows,
        flush_interval_s=flush_interval_s,
        on_flush=on_flush,
    )
    flow = Dataflow(flow_id)
    raw = op.input("kafka_raw_lines", flow, source)
    dead = DeadLetterTopic(brokers, dead_letter_topic) if dead_letter_topic else None
    enrich = ParseEnrich(known_channels(client_factory()), dead_letter_topic=dead)
    rows = op.map("decode_parse_enrich", raw, enrich.kafka_batch)
    op.output("warehouse", rows, sink)
    return flow


def flow(
    settings: Settings | None = None,
    *,
    writers: int | None = None,
    stop: threading.Event | None = None,
    on_flush: Callable[[FlushReport], None] | None = None,
) -> Dataflow:
    """The Kafka chat dataflow as ``settings`` describe it (default: the environment's).

    This is the entry point of ``python -m bytewax.run streamscope.pipelines.chat:flow``; ``streamscope
    pipeline chat`` and ``streamscope up --kafka`` build the same flow. ``writers`` defaults to the
    settings' worker count (pass the cluster's total).
    """
    settings = settings or get_settings()
    if not settings.kafka_brokers:
        raise ValueError("set STREAMSCOPE_KAFKA_BROKERS: the chat dataflow reads its lines from Kafka")
    url, database = settings.clickhouse_url, settings.clickhouse_database
    return kafka_flow(
        settings.kafka_brokers,
        topic_name(topics.IRC_RAW, settings.kafka_topic_prefix),
        lambda: connect(url, database),
        writers=writers or settings.pipeline_workers,
        batch_rows=settings.sink_batch_rows,
        flush_interval_s=settings.sink_flush_interval_s,
        stop=stop,
        on_flush=on_flush,
        dead_letter_topic=topic_name(topics.DEAD_LETTERS, settings.kafka_topic_prefix),
    )


def run(
    bus: Bus[RawLine],
    client_factory: Callable[[], Client],
    *,
    topic: str = TOPIC_IRC_RAW,
    batch_rows: int = 5000,
    flush_interval_s: float = 1.0,
    on_flush: Callable[[FlushReport], None] | None = None,
) -> None:
    """Run the chat dataflow in this thread until ``topic`` is closed and drained (embedded mode)."""
    source = BusInput(bus, topic, batch_size=min(batch_rows, 5000), tick_s=flush_interval_s / 2)
    sink = ClickHouseSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_flush
    )
    run_main(build_flow(source, sink, channel_ids=known_channels(client_factory())))
