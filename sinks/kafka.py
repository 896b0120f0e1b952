"""The producer sources publish through in distributed mode.

Contract of :class:`KafkaPublisher`:
* ``publish(records)`` hands records to an idempotent, compressed, batching producer (acks=all,
  ``enable.idempotence``: a retried send never duplicates or reorders a partition). It returns as
  soon as the records are in the producer's local buffer.
* While the broker is unreachable the producer keeps records in that buffer (bounded by
  ``buffer_messages``/``buffer_kbytes``) and retries forever (``message.timeout.ms=0``); when the
  broker returns it delivers them in order. When the buffer is full, ``publish`` blocks until there
  is room — the backpressure that pauses a live source's socket reads instead of dropping lines. Both
  states are logged once when they start and end, and exported as metrics.
* ``flush()`` waits until the broker acknowledged everything published; ``close()`` flushes.
* Non-retriable delivery failures (e.g. a message larger than the broker accepts) are counted in
  ``kafka_produce_errors_total`` with the error name and logged with the key, never the payload.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import orjson
from confluent_kafka import KafkaError, Message, Producer

from streamscope import metrics
from streamscope.kafka import WireMessage

log = logging.getLogger(__name__)

R = TypeVar("R")


class KafkaPublisher(Generic[R]):
    """Publishes records of one type to one topic (see the module docstring)."""

    def __init__(
        self,
        brokers: str,
        topic: str,
        encode: Callable[[R], WireMessage],
        *,
        buffer_messages: int = 500_000,
        buffer_kbytes: int = 512 * 1024,
        linger_ms: int = 20,
        compression: str = "zstd",
        client_id: str = "streamscope",
        channel_of: Callable[[R], str] | None = None,
        source: str = "",
        config: dict[str, str | int] | None = None,
    ) -> None:
        conf: dict[str, object] = {
            "bootstrap.servers": brokers,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": compression,
            "linger.ms": linger_ms,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": buffer_messages,
            "queue.buffering.max.kbytes": buffer_kbytes,
            "message.timeout.ms": 0,  # never expire: a broker outage is waited out, not dropped
            "error_cb": self._on_error,
            "logger": logging.getLogger("librdkafka"),  # not raw lines on stderr
        }
        conf.update(config or {})
        self._producer = Producer(conf)
        self._topic = topic
        self._encode = encode
        self._channel_of = channel_of
        self._source = source
        self.delivered = 0
        self.failed = 0
        self._blocked_since: float | None = None
        self._broker_down = False
        self._lock = threading.Lock()

    def publish(self, records: Sequence[R]) -> None:
        """Queue ``records`` for the broker, blocking while the local buffer is full."""
        produce = self._producer.produce
        for record in records:
            msg = self._encode(record)
            while True:
                try:
                    produce(
                        self._topic,
                        msg.value,
                        msg.key,
                        timestamp=msg.timestamp,
                        headers=msg.headers,
                        on_delivery=self._on_delivery,
                    )
                    break
                except BufferError:
                    self._wait_for_room()
            if self._channel_of is not None:
                metrics.CAPTURED_LINES.labels(source=self._source, channel=self._channel_of(record)).inc()
        self._producer.poll(0)  # serve delivery callbacks
        self._end_backpressure()
        metrics.PRODUCER_BUFFERED.labels(topic=self._topic).set(len(self._producer))

    def _wait_for_room(self) -> None:
        now = time.monotonic()
        if self._blocked_since is None:
            self._blocked_since = now
            log.warning(
                "Kafka producer buffer is full (%d messages waiting for %s): capture is paused until "
                "the broker accepts messages again",
                len(self._producer),
                self._topic,
            )
        self._producer.poll(0.1)
        metrics.BACKPRESSURE_SECONDS.inc(time.monotonic() - now)

    def _end_backpressure(self) -> None:
        if self._blocked_since is not None:
            log.warning(
                "Kafka producer buffer has room again after %.1fs: capture resumed",
                time.monotonic() - self._blocked_since,
            )
            self._blocked_since = None

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
            metrics.PRODUCED_MESSAGES.labels(topic=self._topic).inc()
            if self._broker_down:
                self._broker_down = False
                log.warning("Kafka is reachable again: delivering what was buffered")
            return
        self.failed += 1
        metrics.PRODUCE_ERRORS.labels(topic=self._topic, error=err.name()).inc()
        key = msg.key() or b""
        log.error("Kafka did not accept a message for %s (key %r): %s", self._topic, key[:100], err.str())

    def _on_error(self, err: KafkaError) -> None:
        # Client-level errors: the brokers being unreachable is retried by librdkafka forever.
        metrics.PRODUCE_ERRORS.labels(topic=self._topic, error=err.name()).inc()
        if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            if not self._broker_down:
                self._broker_down = True
                log.warning(
                    "Kafka is unreachable (%s): buffering locally (%d messages waiting) and retrying",
                    err.str(),
                    len(self._producer),
                )
        else:
            log.error("Kafka producer error: %s", err.str())
        if err.fatal():
            raise RuntimeError(f"the Kafka producer failed and cannot continue: {err.str()}")

    @property
    def buffered(self) -> int:
        """Messages not yet acknowledged by the broker."""
        return len(self._producer)

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until everything is acknowledged (or ``timeout_s`` passed); returns what is left."""
        left = self._producer.flush(timeout_s) if timeout_s is not None else self._producer.flush()
        metrics.PRODUCER_BUFFERED.labels(topic=self._topic).set(left)
        return int(left)

    def close(self, timeout_s: float | None = None) -> int:
        """Flush; returns how many messages were still undelivered when it gave up."""
        return self.flush(timeout_s)


class DeadLetterTopic:
    """Copies records a dataflow could not decode to the dead-letter topic, payload untouched.

    Value: JSON ``{"topic", "partition", "offset", "stage", "reason", "payload"}`` with the payload
    as text, or base64 (and ``"payload_encoding": "base64"``) when it is not UTF-8; key: the topic the
    record came from (:data:`streamscope.topics.DEAD_LETTERS`). Delivery is at-least-once: after a
    crash a re-read record is dead-lettered again (the warehouse table is where they are counted).
    """

    def __init__(self, brokers: str, topic: str) -> None:
        self._topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": brokers,
                "enable.idempotence": True,
                "message.timeout.ms": 0,
                "logger": logging.getLogger("librdkafka"),
            }
        )

    def send(
        self, source_topic: str, partition: int, offset: int, stage: str, reason: str, payload: bytes | None
    ) -> None:
        doc: dict[str, object] = {
            "topic": source_topic,
            "partition": partition,
            "offset": offset,
            "stage": stage,
            "reason": reason,
        }
        try:
            doc["payload"] = None if payload is None else payload.decode()
        except UnicodeDecodeError:
            doc["payload"] = base64.b64encode(payload or b"").decode()
            doc["payload_encoding"] = "base64"
        while True:
            try:
                self._producer.produce(self._topic, orjson.dumps(doc), source_topic.encode())
                break
            except BufferError:  # the broker is away and the buffer is full: wait, never drop
                self._producer.poll(0.1)
        self._producer.poll(0)

    def flush(self) -> None:
        """Block until the broker acknowledged every copy (it may be away for a while: log it)."""
        waited = 0.0
        while self._producer.flush(10.0):
            waited += 10.0
            log.warning("dead-letter copies wait for Kafka (%.0fs so far): the dataflow is paused", waited)
