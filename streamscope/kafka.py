"""Kafka plumbing shared by producers and dataflows: client settings, topic creation, record codecs.

The wire format of each topic is the contract in :mod:`streamscope.topics`. A raw IRC line travels
as its UTF-8 bytes with the channel login as key, the receive time as the Kafka timestamp and the
capturing source in a ``source`` header; decoding is strict, so a message that is not what the
contract says becomes a dead letter with its reason instead of a silently altered line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streamscope.records import (
    AUDIO_BYTES_PER_MS,
    AUDIO_MAX_CHUNK_MS,
    AUDIO_SAMPLE_RATE,
    AudioChunk,
    RawEvent,
    RawLine,
)
from streamscope.topics import Topic

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes | str | None]]
#: Headers as confluent-kafka hands them out (a list of pairs; a dict when built by hand).
AnyHeaders = Headers | dict[str, bytes | str | None]


class KafkaSetupError(RuntimeError):
    """Kafka is not reachable or refused to create the topics (said in one sentence)."""


def topic_name(topic: Topic, prefix: str = "") -> str:
    """The Kafka topic name of ``topic`` for a deployment using ``prefix`` (tests, tenants)."""
    return f"{prefix}{topic.name}"


def ensure_topics(
    brokers: str, topics: Iterable[Topic], *, prefix: str = "", timeout_s: float = 30.0
) -> list[str]:
    """Create the topics that are missing (partitions and retention from the contract).

    Existing topics are left exactly as they are. Returns the names created. Raises
    :class:`KafkaSetupError` when the brokers do not answer within ``timeout_s``.
    """
    admin = AdminClient({"bootstrap.servers": brokers})
    try:
        existing = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        raise KafkaSetupError(f"Kafka at {brokers} did not answer within {timeout_s:.0f}s ({exc})") from None
    wanted = {topic_name(t, prefix): t for t in topics}
    missing = [
        NewTopic(
            name,
            num_partitions=t.partitions,
            replication_factor=-1,  # the broker's default.replication.factor
            config={"retention.ms": str(t.retention_ms)},
        )
        for name, t in wanted.items()
        if name not in existing
    ]
    created: list[str] = []
    if not missing:
        return created
    for name, future in admin.create_topics(missing, operation_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):  # another process won the race: fine
                raise KafkaSetupError(f"could not create Kafka topic {name}: {exc}") from None
    _wait_for_leaders(admin, created, timeout_s)
    log.info("created Kafka topics: %s", ", ".join(created))
    return created


def _wait_for_leaders(admin: AdminClient, names: Sequence[str], timeout_s: float) -> None:
    # A created topic is not usable until every partition has a leader.
    deadline = time.monotonic() + timeout_s
    pending = list(names)
    while pending:
        topics = admin.list_topics(timeout=timeout_s).topics
        pending = [
            n
            for n in pending
            if n not in topics
            or topics[n].error is not None
            or not topics[n].partitions
            or any(p.leader < 0 for p in topics[n].partitions.values())
        ]
        if pending and time.monotonic() > deadline:
            raise KafkaSetupError(f"Kafka topics without a leader after {timeout_s:.0f}s: {pending}")
        if pending:
            time.sleep(0.05)


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One Kafka message as produced: ``timestamp`` is Unix epoch ms (the record's receive time)."""

    key: bytes
    value: bytes
    timestamp: int
    headers: Headers


def encode_line(record: RawLine) -> WireMessage:
    """A raw IRC line as a message of :data:`streamscope.topics.IRC_RAW`."""
    return WireMessage(
        record.channel.encode(),
        record.line.encode(),
        record.received_at,
        [("source", record.source.encode())],
    )


def encode_event(record: RawEvent) -> WireMessage:
    """An EventSub frame or Helix envelope as a message of its JSON topic."""
    return WireMessage(
        record.channel.encode(),
        record.payload.encode(),
        record.received_at,
        [("source", record.source.encode()), ("subscription-type", record.kind.encode())],
    )


def header(headers: AnyHeaders | None, name: str, default: str = "") -> str:
    """The first header called ``name``, decoded (``default`` when absent or not UTF-8)."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    for key, value in pairs:
        if key == name and value is not None:
            if isinstance(value, str):
                return value
            try:
                return value.decode()
            except UnicodeDecodeError:
                return default
    return default


def _key_and_value(key: bytes | None, value: bytes | None, expected: str, key_is: str) -> tuple[str, str]:
    """Key and value as text, or ``ValueError`` saying how the message breaks its topic's contract."""
    if value is None:
        raise ValueError(f"message has no value (a tombstone); expected {expected}")
    try:
        text = value.decode()
    except UnicodeDecodeError as exc:
        raise ValueError(f"value is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return (key or b"").decode(), text
    except UnicodeDecodeError:
        raise ValueError(f"key is not UTF-8; expected {key_is}") from None


def decode_line(
    key: bytes | None, value: bytes | None, timestamp: int, headers: AnyHeaders | None
) -> RawLine:
    """The :class:`RawLine` a message of :data:`streamscope.topics.IRC_RAW` carries.

    Raises ``ValueError`` with the reason when the message breaks the contract (no value, not
    UTF-8, more than one line, no timestamp).
    """
    channel, line = _key_and_value(key, value, "one raw IRC line", "the channel login")
    if "\n" in line or "\r" in line:
        raise ValueError("value holds more than one line; expected exactly one raw IRC line")
    if timestamp <= 0:
        raise ValueError("message has no timestamp; expected the receive time as CreateTime")
    return RawLine(channel, line, timestamp, header(headers, "source", "kafka"))


def decode_event(
    key: bytes | None, value: bytes | None, timestamp: int, headers: AnyHeaders | None, kind: str = ""
) -> RawEvent:
    """The :class:`RawEvent` a message of a JSON topic (EventSub, Helix) carries.

    ``kind`` is the ``subscription-type`` header (or the given default, e.g. ``helix.streams``).
    Raises ``ValueError`` with the reason when the message breaks the contract.
    """
    channel, payload = _key_and_value(key, value, "a JSON payload", "the broadcaster login")
    kind = header(headers, "subscription-type", kind)
    return RawEvent(channel, kind, payload, timestamp, header(headers, "source", "kafka"))


def encode_audio(record: AudioChunk) -> WireMessage:
    """An audio chunk as a message of :data:`streamscope.topics.AUDIO_CHUNKS` (PCM value, times in
    headers)."""
    return WireMessage(
        record.channel.encode(),
        record.pcm,
        record.received_at or record.started_at,
        [
            ("source", record.source.encode()),
            ("started-at", str(record.started_at).encode()),
            ("sample-rate", str(AUDIO_SAMPLE_RATE).encode()),
            ("live", b"1" if record.live else b"0"),
        ],
    )


def decode_audio(
    key: bytes | None, value: bytes | None, timestamp: int, headers: AnyHeaders | None
) -> AudioChunk:
    """The :class:`AudioChunk` a message of :data:`streamscope.topics.AUDIO_CHUNKS` carries.

    Raises ``ValueError`` with the reason when the message breaks the contract (no value, odd
    length, longer than 10 s, another sample rate, no ``started-at``)."""
    if value is None:
        raise ValueError("message has no value (a tombstone); expected 16 kHz mono s16le PCM")
    if len(value) % 2:
        raise ValueError(f"value has {len(value)} bytes; s16le PCM has an even number")
    if len(value) > AUDIO_MAX_CHUNK_MS * AUDIO_BYTES_PER_MS:
        raise ValueError(f"value holds more than {AUDIO_MAX_CHUNK_MS // 1000} s of audio")
    rate = header(headers, "sample-rate", str(AUDIO_SAMPLE_RATE))
    if rate != str(AUDIO_SAMPLE_RATE):
        raise ValueError(f"sample-rate header is {rate[:20]!r}; expected {AUDIO_SAMPLE_RATE}")
    started = header(headers, "started-at")
    if not (started.isascii() and started.isdigit()):
        raise ValueError("started-at header missing or not epoch ms")
    try:
        channel = (key or b"").decode()
    except UnicodeDecodeError:
        raise ValueError("key is not UTF-8; expected the channel login") from None
    live = header(headers, "live", "1") != "0"
    source = header(headers, "source", "kafka")
    return AudioChunk(channel, int(started), bytes(value), source, live, timestamp)
