"""The source-side Kafka producer against a real broker that goes away and comes back.

The broker of this test is its own (stopped and restarted on the same port and data directory), so
the session broker other tests use is never disturbed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from streamscope import topics
from streamscope.kafka import decode_line, encode_line, ensure_topics, topic_name
from streamscope.metrics import REGISTRY
from streamscope.records import RawLine
from streamscope.sinks.kafka import KafkaPublisher
from tests.data import XQCOW
from tests.fixtures import kafka_broker as kb


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[kb.KafkaBroker, tuple[int, int]]]:
    kb.install()
    ports = (kb.free_port(), kb.free_port())
    broker = kb.start(tmp_path / "kafka", ports=ports)
    try:
        yield broker, ports
    finally:
        kb.stop(tmp_path / "kafka")


def read_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 60) -> list[RawLine]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "t", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(topics.IRC_RAW.partitions)])
    got: list[RawLine] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < expected and time.monotonic() < deadline:
        for msg in consumer.consume(1000, 0.5):
            assert msg.error() is None, msg.error()
            got.append(decode_line(msg.key(), msg.value(), msg.timestamp()[1], msg.headers()))
    time.sleep(0.5)  # anything beyond `expected` (a duplicate) would arrive now
    got.extend(
        decode_line(m.key(), m.value(), m.timestamp()[1], m.headers()) for m in consumer.consume(1000, 1.0)
    )
    consumer.close()
    return got


def test_capture_survives_a_broker_outage_buffering_then_backpressure(
    own_broker: tuple[kb.KafkaBroker, tuple[int, int]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker, ports = own_broker
    caplog.set_level(logging.WARNING, logger="streamscope.sinks.kafka")
    ensure_topics(broker.bootstrap, [topics.IRC_RAW], prefix="outage.")
    topic = topic_name(topics.IRC_RAW, "outage.")
    lines = XQCOW.read_text(encoding="utf-8").splitlines()
    records = [RawLine("xqcow", line, 1568577600000 + i, "irc") for i, line in enumerate(lines)]
    # A local buffer of 1000 messages: the outage below first fills it, then blocks the source.
    publisher = KafkaPublisher(broker.bootstrap, topic, encode_line, buffer_messages=1000)
    publisher.publish(records[:2000])
    assert publisher.flush(30) == 0

    kb.stop(tmp_path / "kafka")
    publisher.publish(records[2000:2800])  # fits the buffer: capture goes on while Kafka is away
    assert publisher.buffered == 800
    pressure_before = REGISTRY.get_sample_value("kafka_producer_backpressure_seconds_total") or 0.0
    rest = threading.Thread(target=publisher.publish, args=(records[2800:],), daemon=True)
    rest.start()
    rest.join(3.0)
    assert rest.is_alive(), "a full buffer must block the source, not drop lines"
    assert (REGISTRY.get_sample_value("kafka_producer_backpressure_seconds_total") or 0) > pressure_before
    assert any("capture is paused" in r.getMessage() for r in caplog.records)
    assert any("Kafka is unreachable" in r.getMessage() for r in caplog.records)

    kb.start(tmp_path / "kafka", ports=ports)
    rest.join(120)
    assert not rest.is_alive()
    assert publisher.flush(60) == 0
    assert publisher.failed == 0 and publisher.delivered == len(records)
    assert any("capture resumed" in r.getMessage() for r in caplog.records)

    got = read_all(broker.bootstrap, topic, len(records))
    # One channel key, one partition: exactly the captured lines, once each, in capture order.
    assert got == records
