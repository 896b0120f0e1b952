"""How records travel from sources to dataflows: the in-process bus (embedded) or Kafka (distributed).

A dataflow graph never knows which one is underneath. It asks the transport for an inbound stream
of a topic (:meth:`Transport.inbound`) and gets :class:`Received` batches either way; a source asks
for a :class:`Publisher` of a topic. The two modes differ only here:

* :class:`BusTransport`: one bounded in-process queue per topic and reading dataflow
  (:class:`~streamscope.bus.InProcessBus`; publishers fill every reader's queue). Nothing survives
  the process; :meth:`~Transport.stop` closes the topics, and the dataflows end once they have
  drained them (a replay ends with every line stored).
* :class:`KafkaTransport`: a Kafka partition per input partition, positions in Bytewax's recovery
  store (``recoverable``), and a decode step that holds each topic's contract: a message that breaks
  it becomes a ``decode`` dead letter with the reason (and a copy, payload untouched, on the
  dead-letter topic) while the rest flows on. :meth:`~Transport.stop` ends the inputs after their
  current batches; a restart resumes from the last snapshot.

Building an inbound stream adds operators to a graph and does no I/O: Kafka is first asked for its
partitions when the dataflow runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream

from streamscope import topics
from streamscope.bus import InProcessBus
from streamscope.kafka import (
    WireMessage,
    decode_audio,
    decode_event,
    decode_line,
    encode_audio,
    encode_event,
    encode_line,
    ensure_topics,
    topic_name,
)
from streamscope.records import AudioChunk, RawEvent, RawLine
from streamscope.settings import Settings
from streamscope.sinks.kafka import DeadLetterTopic, KafkaPublisher
from streamscope.sources.bus_input import BusInput
from streamscope.sources.kafka_input import KafkaBatch, KafkaInput
from streamscope.topics import Topic
from streamscope.twitch.irc.rows import DeadLetterRow

R = TypeVar("R", RawLine, RawEvent, AudioChunk)

#: What a source hands to :meth:`Publisher.publish`.
Record = RawLine | RawEvent | AudioChunk


@dataclass(slots=True)
class Received(Generic[R]):
    """One batch as a dataflow receives it: the records, and what broke the topic's contract.

    ``key`` names where the batch came from (the bus topic, or ``"<partition>-<topic>"`` on Kafka)
    and routes the batch's rows to one warehouse writer, so one partition's rows stay in order.
    ``rejected`` holds ``decode`` dead letters (always empty on the bus, whose records are typed).
    An empty batch is a tick: the input is idle, and time-based flushes downstream still happen.
    """

    key: str
    records: list[R]
    rejected: list[DeadLetterRow] = field(default_factory=list)


class Publisher(Protocol):
    """Where a source publishes its records: ``publish`` may block (backpressure), never drops;
    ``close`` waits up to ``timeout_s`` for delivery and returns how many records were not
    acknowledged (0 on the bus)."""

    def publish(self, records: Sequence[Any]) -> None: ...

    def close(self, timeout_s: float | None = None) -> int: ...


class Transport(Protocol):
    """The one thing that differs between embedded and distributed mode (see the module docstring)."""

    name: str
    #: True when inputs resume from Bytewax's recovery store (run the dataflows with recovery).
    recoverable: bool

    def inbound(self, flow: Dataflow, step_id: str, topic: Topic) -> Stream[Received[Any]]: ...

    def publisher(self, topic: Topic, source: str) -> Publisher: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Batching:
    """How inputs batch: at most ``batch_size`` records per item, a tick every ``tick_s`` when idle."""

    batch_size: int = 5000
    tick_s: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings) -> Batching:
        return cls(min(settings.sink_batch_rows, 5000), settings.sink_flush_interval_s / 2)


class _BusPublisher:
    def __init__(self, bus: InProcessBus[Any], topic: str, queues: list[str]) -> None:
        self._bus, self._topic, self._queues = bus, topic, queues

    def publish(self, records: Sequence[Any]) -> None:
        # Every dataflow reading the topic has a queue of its own (a Kafka consumer each, in effect).
        for queue in self._queues or (self._topic,):
            self._bus.publish(queue, records)

    def close(self, timeout_s: float | None = None) -> int:
        return 0


class BusTransport:
    """The in-process bus: every topic a bounded FIFO inside this process (see the module docstring)."""

    name = "bus"
    recoverable = False

    def __init__(self, batching: Batching | None = None, *, capacity: int = 200_000) -> None:
        self.bus: InProcessBus[Any] = InProcessBus(capacity)
        self._batching = batching or Batching()
        self._topics: set[str] = set()
        #: topic -> the queues of its readers (see :meth:`inbound`).
        self._readers: dict[str, list[str]] = {}

    def inbound(self, flow: Dataflow, step_id: str, topic: Topic) -> Stream[Received[Any]]:
        # The first reader of a topic polls the topic's own queue; each further reader (the stats
        # dataflow next to chat) gets a queue of its own that every publisher also fills.
        queues = self._readers.setdefault(topic.name, [])
        queue = topic.name if not queues else f"{topic.name}#{len(queues)}"
        queues.append(queue)
        self._topics.add(queue)
        b = self._batching
        source = BusInput(self.bus, queue, batch_size=b.batch_size, tick_s=b.tick_s)
        batches = op.input(step_id, flow, source)
        name = topic.name
        return op.map(f"{step_id}_received", batches, lambda records: Received(name, records))

    def publisher(self, topic: Topic, source: str) -> Publisher:
        return _BusPublisher(self.bus, topic.name, self._readers.setdefault(topic.name, []))

    def stop(self) -> None:
        for name in self._topics:
            self.bus.close(name)


_Decoder = Callable[[bytes | None, bytes | None, int, Any], Any]
_Encoder = Callable[[Any], WireMessage]


def _codec(topic: Topic) -> tuple[_Decoder, _Encoder]:
    if topic.name == topics.IRC_RAW.name:
        return decode_line, encode_line
    if topic.name == topics.HELIX_STREAMS.name:
        return (lambda k, v, ts, h: decode_event(k, v, ts, h, "helix.streams")), encode_event
    if topic.name == topics.AUDIO_CHUNKS.name:
        return decode_audio, encode_audio
    return decode_event, encode_event


class _Decode:
    """Kafka batch → :class:`Received`: each message decoded by its topic's contract; one that breaks
    it is a ``decode`` dead letter (and a copy on the dead-letter topic, sent before the batch's
    offsets can commit)."""

    def __init__(self, decode: _Decoder, dead_letter_topic: Callable[[], DeadLetterTopic] | None) -> None:
        self._decode = decode
        self._dlq_factory = dead_letter_topic
        self._dlq: DeadLetterTopic | None = None
        self._lock = threading.Lock()

    def _dead_letter_topic(self) -> DeadLetterTopic | None:
        if self._dlq is None and self._dlq_factory is not None:
            with self._lock:
                if self._dlq is None:
                    self._dlq = self._dlq_factory()
        return self._dlq

    def __call__(self, item: KafkaBatch) -> Received[Any]:
        key, messages = item
        out = Received[Any](key, [])
        for m in messages:
            key_bytes, value, ts = m.key(), m.value(), m.timestamp()[1]
            try:
                out.records.append(self._decode(key_bytes, value, ts, m.headers()))
            except ValueError as exc:
                raw = (value or b"").decode("utf-8", "backslashreplace")
                channel = (key_bytes or b"").decode("utf-8", "backslashreplace")
                reason = f"{exc} (Kafka partition {key}, offset {m.offset()})"
                out.rejected.append(DeadLetterRow(max(ts, 0), "kafka", channel, "decode", reason, raw))
                dlq = self._dead_letter_topic()
                if dlq is not None:
                    dlq.send(m.topic() or "", m.partition() or 0, m.offset() or 0, "decode", str(exc), value)
        if out.rejected and self._dlq is not None:
            self._dlq.flush()  # rare; delivered before the batch's offsets can commit
        return out


class KafkaTransport:
    """Apache Kafka: topics named with ``settings.kafka_topic_prefix`` (see the module docstring).

    ``start`` is where a new dataflow begins on a topic it has no recovery snapshot for. Topics are
    created (never altered) by :meth:`ensure_topics`, which the runtime calls before anything runs.
    """

    name = "kafka"
    recoverable = True

    def __init__(
        self,
        brokers: str,
        *,
        prefix: str = "",
        batching: Batching | None = None,
        buffer_messages: int = 500_000,
        start: str = "earliest",
        dead_letters: bool = True,
    ) -> None:
        self.brokers = brokers
        self.prefix = prefix
        self._batching = batching or Batching()
        self._buffer_messages = buffer_messages
        self._start = start
        self._dead_letters = dead_letters
        self._stop = threading.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaTransport:
        if not settings.kafka_brokers:
            raise ValueError("set STREAMSCOPE_KAFKA_BROKERS: the Kafka transport needs brokers")
        return cls(
            settings.kafka_brokers,
            prefix=settings.kafka_topic_prefix,
            batching=Batching.from_settings(settings),
            buffer_messages=settings.kafka_buffer_messages,
        )

    def topic(self, topic: Topic) -> str:
        return topic_name(topic, self.prefix)

    def ensure_topics(self) -> None:
        ensure_topics(self.brokers, topics.ALL, prefix=self.prefix)

    def inbound(self, flow: Dataflow, step_id: str, topic: Topic) -> Stream[Received[Any]]:
        b = self._batching
        source = KafkaInput(
            self.brokers, self.topic(topic), batch_size=b.batch_size, tick_s=b.tick_s, start=self._start,
            stop=self._stop,
        )  # fmt: skip
        batches = op.input(f"kafka_{step_id}", flow, source)
        brokers, dlq_name = self.brokers, self.topic(topics.DEAD_LETTERS)
        dlq = (lambda: DeadLetterTopic(brokers, dlq_name)) if self._dead_letters else None
        return op.map(f"decode_{step_id}", batches, _Decode(_codec(topic)[0], dlq))

    def publisher(self, topic: Topic, source: str) -> Publisher:
        return KafkaPublisher(
            self.brokers,
            self.topic(topic),
            _codec(topic)[1],
            buffer_messages=self._buffer_messages,
            client_id=f"streamscope-source-{source}",
            channel_of=lambda r: r.channel,
            source=source,
        )

    def stop(self) -> None:
        self._stop.set()


def transport_for(settings: Settings) -> BusTransport | KafkaTransport:
    """Kafka when ``settings.kafka_brokers`` is set, else the in-process bus."""
    if settings.kafka_brokers:
        return KafkaTransport.from_settings(settings)
    return BusTransport(Batching.from_settings(settings))
