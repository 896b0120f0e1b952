"""The chat dataflow on Kafka (real broker, real Bytewax with recovery, real chDB), in-process.

* The recordings published through the source producer and read by the Kafka flow give exactly the
  rows the embedded path gives (every column of every table).
* Messages that break the topic contract are dead-lettered with their reason and the flow goes on.
* The metrics of the producer and the dataflow count what happened.
* Each epoch's rows are stored when it ends, while the flow runs, even with an hour-long flush
  interval.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, Producer, TopicPartition

from streamscope import topics
from streamscope.app.runtime import Runtime
from streamscope.kafka import encode_line, ensure_topics, topic_name
from streamscope.metrics import REGISTRY
from streamscope.pipelines.transport import Batching, KafkaTransport
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.sinks.kafka import KafkaPublisher
from streamscope.sources.replay import replay
from tests.data import PAJLADA, XQCOW
from tests.fixtures.embedded import embedded_runtime
from tests.fixtures.kafka_broker import KafkaBroker

TABLES = {
    "chat_messages": "channel_id, sent_at, message_id",
    "chat_events": "channel_id, at, event_id",
    "channels": "channel_id",
}


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def table_rows(client: Client, table: str) -> list[tuple[object, ...]]:
    order = TABLES[table]
    cols = "* EXCEPT (first_seen, last_seen)" if table == "channels" else "*"
    return client.query(f"SELECT {cols} FROM {table} FINAL ORDER BY {order}").result_rows


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class KafkaFlow:
    """The chat dataflow of a Kafka :class:`Runtime` (recovery in ``tmp``); ``stop()`` ends it cleanly."""

    def __init__(
        self, broker: KafkaBroker, topic: str, client: Client, url: str, tmp: Path, *,
        dead_letters: bool = False, batch_rows: int = 500, flush_interval_s: float = 0.1,
    ) -> None:  # fmt: skip
        prefix = topic[: -len(topics.IRC_RAW.name)]
        settings = Settings(
            clickhouse_url=url, clickhouse_database=client.database or "", sink_batch_rows=batch_rows,
            sink_flush_interval_s=flush_interval_s, recovery_dir=str(tmp / "recovery"), snapshot_interval_s=1,
            kafka_brokers=broker.bootstrap, kafka_topic_prefix=prefix,
        )  # fmt: skip
        transport = KafkaTransport(
            broker.bootstrap,
            prefix=prefix,
            batching=Batching.from_settings(settings),
            dead_letters=dead_letters,
        )
        self.runtime = Runtime(settings, transport).start_dataflows(["chat"])

    def stop(self) -> None:
        self.runtime.finish(60)
        assert not self.runtime.alive()


@pytest.fixture
def raw_topic(kafka_broker: KafkaBroker, request: pytest.FixtureRequest) -> Iterator[str]:
    prefix = f"{request.node.name[:40]}-{time.monotonic_ns()}."
    ensure_topics(kafka_broker.bootstrap, [topics.IRC_RAW], prefix=prefix)
    yield topic_name(topics.IRC_RAW, prefix)


def test_kafka_flow_stores_exactly_the_rows_of_the_embedded_path(
    kafka_broker: KafkaBroker,
    raw_topic: str,
    warehouse_factory: Callable[[], Client],
    warehouse_url: str,
    tmp_path: Path,
) -> None:
    embedded, distributed = warehouse_factory(), warehouse_factory()
    reference = embedded_runtime(embedded, warehouse_url, flush_interval_s=0.1).start_dataflows(["chat"])
    published = replay([XQCOW, PAJLADA], reference.publisher(topics.IRC_RAW, "replay").publish)
    reference.finish(120)

    produced_before = sample("kafka_produced_messages_total", {"topic": raw_topic})
    captured_before = sample("captured_lines_total", {"source": "replay", "channel": "xqcow"})
    publisher = KafkaPublisher(
        kafka_broker.bootstrap, raw_topic, encode_line, channel_of=lambda r: r.channel, source="replay"
    )
    assert replay([XQCOW, PAJLADA], publisher.publish) == published
    assert publisher.flush(30) == 0
    assert sample("kafka_produced_messages_total", {"topic": raw_topic}) - produced_before == published
    assert sample("captured_lines_total", {"source": "replay", "channel": "xqcow"}) - captured_before == 5000

    flow = KafkaFlow(kafka_broker, raw_topic, distributed, warehouse_url, tmp_path)
    expected = {t: table_rows(embedded, t) for t in TABLES}
    assert len(expected["chat_messages"]) > 7000
    wait_for(
        lambda: all(len(table_rows(distributed, t)) == len(expected[t]) for t in TABLES),
        "the Kafka flow to store every row",
    )
    wait_for(
        lambda: (
            sum(sample("kafka_consumer_lag", {"topic": raw_topic, "partition": str(p)}) for p in range(6))
            == 0
        ),
        "consumer lag 0",
    )
    flow.stop()
    for table in TABLES:
        assert table_rows(distributed, table) == expected[table], table
    dead = "SELECT stage, reason, raw FROM dead_letters FINAL ORDER BY raw"
    assert distributed.query(dead).result_rows == embedded.query(dead).result_rows


def test_poison_messages_are_dead_lettered_and_the_flow_goes_on(
    kafka_broker: KafkaBroker,
    raw_topic: str,
    warehouse: Client,
    warehouse_url: str,
    tmp_path: Path,
) -> None:
    lines = [line for line in XQCOW.read_text(encoding="utf-8").splitlines() if " PRIVMSG " in line][:50]
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})
    ts = 1568577600000
    poison = [
        (b"xqcow", b"@id=1 PRIVMSG #xqcow :\xff\xfe broken", "value is not UTF-8"),
        (b"xqcow", lines[0].encode() + b"\r\n" + lines[1].encode(), "value holds more than one line"),
        (b"xqcow", None, "message has no value"),
    ]
    decode_before = sample("dead_letters_total", {"stage": "decode"})
    for i, line in enumerate(lines):
        producer.produce(raw_topic, line.encode(), b"xqcow", partition=0, timestamp=ts + i)
        if i in (10, 20, 30):
            key, value, _ = poison[(i // 10) - 1]
            producer.produce(raw_topic, value, key, partition=0, timestamp=ts + i)
    assert producer.flush(30) == 0

    prefix = raw_topic[: -len(topics.IRC_RAW.name)]
    ensure_topics(kafka_broker.bootstrap, [topics.DEAD_LETTERS], prefix=prefix)
    dlq = topic_name(topics.DEAD_LETTERS, prefix)
    flow = KafkaFlow(kafka_broker, raw_topic, warehouse, warehouse_url, tmp_path, dead_letters=True)
    wait_for(
        lambda: (
            warehouse.query("SELECT count() FROM chat_messages").result_rows[0][0] == 50
            and warehouse.query("SELECT count() FROM dead_letters FINAL").result_rows[0][0] == 3
        ),
        "50 messages and 3 dead letters",
    )
    flow.stop()
    rows = warehouse.query(
        "SELECT stage, reason, raw FROM dead_letters FINAL ORDER BY received_at"
    ).result_rows
    assert [r[0] for r in rows] == ["decode"] * 3
    for (_, reason, raw), (_, value, why) in zip(rows, poison, strict=True):
        assert reason.startswith(why), reason
        assert "Kafka partition 0-" in reason and ", offset " in reason
        assert raw == (value or b"").decode("utf-8", "backslashreplace")
    assert sample("dead_letters_total", {"stage": "decode"}) - decode_before == 3
    stored = warehouse.query("SELECT count(), uniqExact(message_id) FROM chat_messages FINAL").result_rows
    assert stored == [(50, 50)]

    consumer = Consumer({"bootstrap.servers": kafka_broker.bootstrap, "group.id": "dlq"})
    consumer.assign([TopicPartition(dlq, 0, 0)])
    copies = [orjson.loads(m.value()) for m in consumer.consume(10, 10.0)]
    consumer.close()
    assert [(c["topic"], c["partition"], c["stage"]) for c in copies] == [(raw_topic, 0, "decode")] * 3
    assert [c["offset"] for c in copies] == [11, 22, 33]  # after 11, 21 and 31 good lines
    assert (
        base64.b64decode(copies[0]["payload"]) == poison[0][1] and copies[0]["payload_encoding"] == "base64"
    )
    assert copies[1]["payload"] == (poison[1][1] or b"").decode() and "payload_encoding" not in copies[1]
    assert copies[2]["payload"] is None
    assert copies[0]["reason"].startswith("value is not UTF-8 (invalid start byte at byte ")
    assert [c["reason"] for c in copies[1:]] == [
        "value holds more than one line; expected exactly one raw IRC line",
        "message has no value (a tombstone); expected one raw IRC line",
    ]


def test_the_flow_resumes_from_its_snapshot_after_a_clean_stop(
    kafka_broker: KafkaBroker,
    raw_topic: str,
    warehouse: Client,
    warehouse_url: str,
    tmp_path: Path,
) -> None:
    publisher = KafkaPublisher(kafka_broker.bootstrap, raw_topic, encode_line)
    lines = list(XQCOW.read_text(encoding="utf-8").splitlines())
    records = [RawLine("xqcow", line, 1568577600000 + i, "test") for i, line in enumerate(lines)]
    publisher.publish(records[:2500])
    assert publisher.flush(30) == 0
    flow = KafkaFlow(kafka_broker, raw_topic, warehouse, warehouse_url, tmp_path)
    count = "SELECT count() FROM chat_messages"
    wait_for(lambda: warehouse.query(count).result_rows[0][0] > 2400, "the first half")
    time.sleep(1.5)  # let an epoch close after the first half
    flow.stop()
    first = warehouse.query(count).result_rows[0][0]

    publisher.publish(records[2500:])
    assert publisher.flush(30) == 0
    flow = KafkaFlow(kafka_broker, raw_topic, warehouse, warehouse_url, tmp_path)
    expected = sum(1 for line in lines if " PRIVMSG " in line)
    wait_for(lambda: warehouse.query(count).result_rows[0][0] >= expected, "the second half")
    time.sleep(1.0)
    flow.stop()
    # Without FINAL: the resumed flow started after what the first run committed, so not a single
    # row was inserted twice (a rewind would show up here as extra unmerged rows).
    assert warehouse.query(count).result_rows[0][0] == expected
    assert 0 < first < expected


def test_every_epoch_is_stored_while_the_flow_runs(
    kafka_broker: KafkaBroker,
    raw_topic: str,
    warehouse: Client,
    warehouse_url: str,
    tmp_path: Path,
) -> None:
    """An hour-long flush interval and batches bigger than the input: only the flush at the end of
    each epoch (the sink's ``snapshot()``) can store rows while the flow runs."""
    publisher = KafkaPublisher(kafka_broker.bootstrap, raw_topic, encode_line)
    lines = [line for line in XQCOW.read_text(encoding="utf-8").splitlines() if " PRIVMSG " in line][:300]
    records = [RawLine("xqcow", line, 1568577600000 + i, "test") for i, line in enumerate(lines)]

    def stored() -> int:
        return int(warehouse.query("SELECT count() FROM chat_messages").result_rows[0][0])

    def publish_and_see_stored(start: int, end: int) -> None:
        publisher.publish(records[start:end])
        assert publisher.flush(30) == 0
        wait_for(lambda: stored() >= end, f"{end} rows stored while the flow runs", 30)
        assert stored() == end
        assert flow.runtime.alive()  # still waiting for input: no close() has flushed anything

    flow = KafkaFlow(
        kafka_broker, raw_topic, warehouse, warehouse_url, tmp_path,
        batch_rows=1_000_000, flush_interval_s=3600,  # neither size nor interval flushes
    )  # fmt: skip
    try:
        publish_and_see_stored(0, 100)
        publish_and_see_stored(100, 300)  # and again in a later epoch
    finally:
        flow.stop()
    assert stored() == 300
