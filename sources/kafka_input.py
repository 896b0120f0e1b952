"""Bytewax input that reads a Kafka topic in batches, resumable from Bytewax's recovery snapshots.

Each Kafka partition is one Bytewax input partition with its own consumer (``assign``, no consumer
group: the position lives in Bytewax's recovery store, like Bytewax's own Kafka connector). Unlike
that connector it emits one item per *batch* of messages — ``(partition_key, [Message, ...])`` —
so the dataflow pays its per-item cost once per batch.

Contract:
* ``next_batch`` never blocks longer than ``poll_timeout_s`` (0: it takes what librdkafka has already
  fetched in the background; one worker polls all its partitions in turn, so a blocking poll on an
  idle partition would stall the busy ones). An idle partition is polled again after 10 ms
  (``next_awake``) and emits an empty batch every ``tick_s`` so time-based flushes downstream happen.
* ``snapshot()`` is the offset of the next message *not yet emitted*. After a crash Bytewax resumes
  every partition from the snapshot of the last committed epoch, so messages emitted after it are
  read again: at-least-once, made effectively-once by the warehouse deduplicating on message ids.
* Without a snapshot a partition starts at ``start`` (the earliest retained message by default, so
  a new dataflow misses nothing on the topic).
* ``stop`` (a :class:`threading.Event`), when set, ends every partition (StopIteration), which lets
  an embedded process finish the dataflow cleanly.
* Consumer lag per partition (high watermark minus position) is exported as ``kafka_consumer_lag``.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from streamscope import metrics
from streamscope.kafka import KafkaSetupError

log = logging.getLogger(__name__)


#: One emitted item: the input partition's key and the messages read together, as librdkafka's own
#: ``Message`` objects (no copy per message; they are not picklable, which is fine because the next
#: step is a stateless map on the same worker: only its output crosses workers).
KafkaBatch = tuple[str, list[Message]]


class KafkaInput(FixedPartitionedSource[KafkaBatch, int]):
    """Batches from every partition of ``topic`` (see the module docstring)."""

    def __init__(
        self,
        brokers: str,
        topic: str,
        *,
        batch_size: int = 5000,
        poll_timeout_s: float = 0.0,
        tick_s: float = 0.5,
        start: str = "earliest",
        stop: threading.Event | None = None,
        config: dict[str, str | int] | None = None,
    ) -> None:
        if start not in ("earliest", "latest"):
            raise ValueError("start must be 'earliest' or 'latest'")
        self._brokers = brokers
        self._topic = topic
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout_s
        self._tick = tick_s
        self._start = OFFSET_BEGINNING if start == "earliest" else OFFSET_END
        self._stop = stop
        self._config = config or {}

    def list_parts(self) -> list[str]:
        admin = AdminClient({"bootstrap.servers": self._brokers, **self._config})
        try:
            meta = admin.list_topics(topic=self._topic, timeout=30).topics.get(self._topic)
        except Exception as exc:
            raise KafkaSetupError(f"Kafka at {self._brokers} did not answer: {exc}") from None
        if meta is None or meta.error is not None or not meta.partitions:
            reason = meta.error if meta is not None else "unknown topic"
            raise KafkaSetupError(f"Kafka topic {self._topic} is not readable: {reason}")
        return [f"{p}-{self._topic}" for p in sorted(meta.partitions)]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _KafkaPartition:
        index, topic = for_part.split("-", 1)
        if topic != self._topic:
            raise KafkaSetupError(
                f"the recovery store was written for topic {topic}, not {self._topic}: "
                "use a fresh recovery directory for a different topic"
            )
        config: dict[str, object] = {
            "bootstrap.servers": self._brokers,
            "group.id": "streamscope-unused",  # required by librdkafka; positions live in recovery
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            # A resume position that retention has deleted meanwhile: read what is left, never jump
            # to the end (librdkafka's default), and say so (see _KafkaPartition).
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 64 * 1024 * 1024,
            "logger": logging.getLogger("librdkafka"),  # not raw lines on stderr
            **self._config,
        }
        start = resume_state if resume_state is not None else self._start
        return _KafkaPartition(
            config, topic, int(index), start, self._batch_size, self._poll_timeout, self._tick, self._stop
        )


class _KafkaPartition(StatefulSourcePartition[KafkaBatch, int]):
    def __init__(
        self,
        config: dict[str, object],
        topic: str,
        partition: int,
        start: int,
        batch_size: int,
        poll_timeout_s: float,
        tick_s: float,
        stop: threading.Event | None,
    ) -> None:
        self._consumer = Consumer(config)
        self._tp = TopicPartition(topic, partition, start)
        self._consumer.assign([self._tp])
        if start >= 0:
            self._warn_if_expired(start)
        self._key = f"{partition}-{topic}"
        self._next = start  # offset of the next message not yet emitted (symbolic until the first)
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout_s
        self._tick = tick_s
        self._stop = stop
        self._last_emit = time.monotonic()
        self._idle = False
        self._lag_at = 0.0

    def next_batch(self) -> list[KafkaBatch]:
        if self._stop is not None and self._stop.is_set():
            raise StopIteration
        msgs = self._consumer.consume(self._batch_size, self._poll_timeout)
        records = [m for m in msgs if m.error() is None]
        if len(records) != len(msgs):
            self._errors([m for m in msgs if m.error() is not None])
        now = time.monotonic()
        if now - self._lag_at >= 2.0:
            self._lag_at = now
            self._report_lag()
        if records:
            self._next = (records[-1].offset() or 0) + 1
            self._idle = False
            self._last_emit = now
            return [(self._key, records)]
        self._idle = True
        if now - self._last_emit >= self._tick:
            self._last_emit = now
            return [(self._key, [])]
        return []

    def _warn_if_expired(self, start: int) -> None:
        try:
            low, _ = self._consumer.get_watermark_offsets(self._tp, timeout=10)
        except Exception:  # the broker may be away; the consumer retries on its own
            return
        if start < low:
            log.warning(
                "Kafka %s: the snapshot resumes at offset %d but retention already deleted up to %d; "
                "%d messages are lost to this dataflow",
                self._key, start, low, low - start,
            )  # fmt: skip

    def _errors(self, msgs: list[Message]) -> None:
        for msg in msgs:
            err = msg.error()
            assert err is not None
            if err.code() == KafkaError._PARTITION_EOF:
                continue
            if err.fatal():
                raise RuntimeError(f"Kafka consumer failed on {self._key}: {err.str()}")
            log.warning("Kafka consumer error on %s (retrying): %s", self._key, err.str())

    def _report_lag(self) -> None:
        # The high watermark the last fetch response carried: no request, never blocks the flow.
        # Until a fetch reported one (and a position is known) there is no lag series at all, so a
        # dashboard never reads "0 behind" for a partition that has not been measured.
        try:
            low, high = self._consumer.get_watermark_offsets(self._tp, cached=True)
        except Exception:  # the broker may be away; lag is only a metric
            return
        position = self._next
        if position < 0:  # nothing read yet: the symbolic start resolves to a watermark
            position = low if position == OFFSET_BEGINNING else high
        if position < 0 or high < 0:
            return
        metrics.CONSUMER_LAG.labels(topic=self._tp.topic, partition=str(self._tp.partition)).set(
            max(0, high - position)
        )

    def next_awake(self) -> datetime | None:
        # Idle: look again in 10 ms rather than spinning; at full speed poll again at once.
        return datetime.now(UTC) + timedelta(milliseconds=10) if self._idle else None

    def snapshot(self) -> int:
        return self._next

    def close(self) -> None:
        self._consumer.close()
