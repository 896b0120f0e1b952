"""The dev/test Kafka broker (``scripts/kafka``) round-trips chat-like records exactly."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.kafka_broker import KafkaBroker

ck = pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")


CHANNELS = ["xqcow", "pajlada", "forsen", "lirik", "summit1g", "shroud", "pokimane"]
N = 1000


def test_round_trip_keyed_by_channel(kafka_broker: KafkaBroker, topic_factory: Callable[..., str]) -> None:
    topic = topic_factory(partitions=3)
    sent: list[tuple[str, int]] = []  # (channel, per-channel seq) in produce order
    delivered: dict[tuple[str, int], tuple[int, int]] = {}  # -> (partition, offset)
    errors: list[Any] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)
        else:
            value = json.loads(msg.value())
            delivered[(value["channel"], value["seq"])] = (msg.partition(), msg.offset())

    producer = ck.Producer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "enable.idempotence": True,  # implies acks=all, retries, max.in.flight<=5 with ordering kept
            "linger.ms": 5,
        }
    )
    seqs: dict[str, int] = defaultdict(int)
    for i in range(N):
        channel = CHANNELS[(i * 7 + i // 13) % len(CHANNELS)]  # uneven interleaving of channels
        seq = seqs[channel]
        seqs[channel] += 1
        sent.append((channel, seq))
        body = {"channel": channel, "seq": seq, "i": i, "text": f"message {i} in #{channel}"}
        key, value = channel.encode(), json.dumps(body).encode()
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0, "messages still undelivered after 30s"
    assert errors == []
    assert len(delivered) == N

    consumer = ck.Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[tuple[str, int, int, int]] = []  # (channel, seq, partition, offset)
    deadline = time.monotonic() + 30
    try:
        while len(received) < N and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                assert msg.error() is None, msg.error()
                value = json.loads(msg.value())
                assert msg.key() == value["channel"].encode()
                received.append((value["channel"], value["seq"], msg.partition(), msg.offset()))
        consumer.commit(asynchronous=False)
        committed = consumer.committed([ck.TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        consumer.close()

    # Exactly the produced set: nothing lost, nothing duplicated.
    assert len(received) == N
    assert {(c, s) for c, s, _, _ in received} == set(sent)
    # Each channel's messages come back in produce order, all from one partition, where acked.
    by_channel: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for channel, seq, partition, offset in received:
        by_channel[channel].append(seq)
        partitions[channel].add(partition)
        assert delivered[(channel, seq)] == (partition, offset)
    for channel, count in seqs.items():
        assert by_channel[channel] == list(range(count)), channel
        assert len(partitions[channel]) == 1, channel
    # Keys spread over more than one partition, and the group committed the end of each.
    assert len({p for ps in partitions.values() for p in ps}) > 1
    ends: dict[int, int] = defaultdict(int)
    for _, _, partition, offset in received:
        ends[partition] = max(ends[partition], offset + 1)
    assert {tp.partition: tp.offset for tp in committed if tp.offset >= 0} == dict(ends)
