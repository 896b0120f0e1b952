"""The streams dataflow: Helix samples + EventSub payloads → viewer_samples, streams, chat tables.

Items are batches of :class:`~streamscope.records.RawEvent` from the HELIX_STREAMS and EVENTSUB_RAW
topics. ``split`` turns a batch into:

* viewer_samples rows (one per live channel per poll) and channel id/login pairs;
* keyed session inputs — ``(login, sample | absent | online | offline | update)`` — which a Bytewax
  ``stateful_map`` applies to each channel's :class:`~streamscope.twitch.sessions.ChannelState`;
* EventSub chat kinds (``channel.chat.*``, moderation, ...) mapped to chat rows by
  ``streamscope.twitch.eventsub.rows.classify`` into the same tables as IRC;
* dead letters (stage ``streams``) for every payload or stream item that cannot be used, with why.

Chat rows and dead letters go to the chat :class:`~sinks.clickhouse.ClickHouseSink`; samples and
session rows to :class:`~sinks.streams.StreamsSink`. Empty batches (idle ticks) still reach both
sinks, so time-based flushes happen when nothing arrives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import bytewax.operators as op
import orjson
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink
from bytewax.testing import run_main
from clickhouse_connect.driver.client import Client

from sinks.clickhouse import ClickHouseEpochSink, ClickHouseSink, FlushReport
from sinks.streams import StreamsBatch, StreamsEpochSink, StreamsSink
from sources.bus_input import BusInput
from sources.kafka_input import KafkaBatch, KafkaInput
from streamscope import topics
from streamscope.bus import Bus
from streamscope.kafka import decode_event, topic_name
from streamscope.records import RawEvent
from streamscope.settings import Settings, get_settings
from streamscope.twitch.helix import HelixPayloadError, iso_ms, parse_envelope
from streamscope.twitch.irc.rows import RowBatch
from streamscope.twitch.sessions import (
    Absent,
    ChannelState,
    ChannelUpdate,
    Offline,
    Online,
    SessionInput,
    StreamEvent,
)
from streamscope.warehouse import connect

log = logging.getLogger(__name__)

STREAM_KINDS = frozenset({"stream.online", "stream.offline", "channel.update"})
HELIX_KIND = "helix.streams"
#: Kind prefix of a Kafka message that broke the topic contract (the rest is the reason).
_UNDECODABLE = "undecodable: "

ChatClassifier = Callable[[Sequence[RawEvent], dict[str, int]], RowBatch]


def _eventsub_classifier() -> ChatClassifier | None:
    """B2's EventSub chat mapping when installed (``streamscope.twitch.eventsub.rows.classify``)."""
    try:
        from streamscope.twitch.eventsub.rows import classify
    except ImportError:
        return None
    return classify  # type: ignore[no-any-return]


@dataclass(slots=True)
class Split:
    keyed: list[tuple[str, SessionInput]] = field(default_factory=list)
    samples: StreamsBatch = field(default_factory=lambda: StreamsBatch())
    chat: RowBatch = field(default_factory=RowBatch)


def _dead(event: RawEvent, reason: str, raw: str | None = None) -> tuple[Any, ...]:
    return (event.received_at, event.source, event.channel, "streams", reason[:500], raw or event.payload)


def decode_stream_event(event: RawEvent) -> StreamEvent:
    """A stream.online/offline or channel.update notification (frame or ``{subscription, event}``)."""
    try:
        doc = orjson.loads(event.payload)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{event.kind}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{event.kind}: payload is not an object")
    body = doc["payload"] if isinstance(doc.get("payload"), dict) else doc
    meta = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    ev = body.get("event")
    if not isinstance(ev, dict):
        raise ValueError(f"{event.kind}: no payload.event object")
    uid, login = ev.get("broadcaster_user_id"), ev.get("broadcaster_user_login")
    if not isinstance(uid, str) or not uid.isdigit():
        raise ValueError(f"{event.kind}: broadcaster_user_id {uid!r} is not a numeric id")
    if not isinstance(login, str) or not login:
        raise ValueError(f"{event.kind}: broadcaster_user_login missing")
    login = login.lower()
    at = event.received_at
    stamp = meta.get("message_timestamp")
    if isinstance(stamp, str):
        at = iso_ms(stamp)
    if event.kind == "stream.online":
        sid, started = ev.get("id"), ev.get("started_at")
        if not isinstance(sid, str) or not sid or not isinstance(started, str):
            raise ValueError("stream.online: id or started_at missing")
        return Online(int(uid), login, sid, iso_ms(started), at)
    if event.kind == "stream.offline":
        return Offline(int(uid), login, at)
    title = ev.get("title")
    if not isinstance(title, str):
        raise ValueError("channel.update: title missing")
    return ChannelUpdate(
        int(uid), login, title, str(ev.get("category_id") or ""), str(ev.get("category_name") or ""), at
    )


class Splitter:
    """Batch of raw events → :class:`Split` (see the module contract). Thread-safe."""

    def __init__(self, classify_chat: ChatClassifier | None = None) -> None:
        self._classify = classify_chat if classify_chat is not None else _eventsub_classifier()
        self.channel_ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, events: Sequence[RawEvent]) -> Split:
        out = Split()
        chat: list[RawEvent] = []
        for event in events:
            if event.kind == HELIX_KIND:
                self._helix(event, out)
            elif event.kind.startswith(_UNDECODABLE):
                reason = event.kind[len(_UNDECODABLE) :]
                out.chat.dead_letters.append(
                    (event.received_at, "kafka", "", "decode", reason, event.payload)
                )
            elif event.kind in STREAM_KINDS:
                try:
                    item = decode_stream_event(event)
                except ValueError as exc:
                    out.chat.dead_letters.append(_dead(event, str(exc)))
                    continue
                out.keyed.append((item.login, item))
                out.samples.channels[item.channel_id] = item.login
            else:
                chat.append(event)
        if chat:
            if self._classify is None:
                for event in chat:
                    out.chat.dead_letters.append(
                        _dead(event, f"{event.kind}: no EventSub chat mapping installed")
                    )
            else:
                with self._lock:
                    batch = self._classify(chat, self.channel_ids)
                out.chat.messages.extend(batch.messages)
                out.chat.events.extend(batch.events)
                out.chat.dead_letters.extend(batch.dead_letters)
                out.chat.channels.update(batch.channels)
                out.chat.control += batch.control
        return out

    def _helix(self, event: RawEvent, out: Split) -> None:
        try:
            poll = parse_envelope(event.payload)
        except HelixPayloadError as exc:
            out.chat.dead_letters.append(_dead(event, f"helix.streams: {exc}"))
            return
        for reason, raw in poll.rejected:
            out.chat.dead_letters.append(_dead(event, reason, raw))
        for s in poll.samples:
            out.samples.samples.append(
                (s.channel_id, s.channel, s.sampled_at, s.viewers, s.stream_id, s.started_at, s.game_id,
                 s.game, s.title, s.language, event.source)
            )  # fmt: skip
            out.samples.channels[s.channel_id] = s.channel
            out.keyed.append((s.channel, s))
        # A rejected item still names a live channel (user_name when user_login is missing): only
        # requested logins that no item names are taken for offline.
        out.keyed.extend((login, Absent(login, poll.polled_at)) for login in poll.absent())


def step_session(state: ChannelState | None, item: SessionInput) -> tuple[ChannelState, StreamsBatch]:
    """The ``stateful_map`` step: apply one input to the channel's state; the changed session rows."""
    if state is None:
        state = ChannelState()
    return state, StreamsBatch(sessions=state.step(item))


def build_flow(
    sources: Sequence[Source[list[RawEvent]]],
    chat_sink: Sink[RowBatch],
    streams_sink: Sink[StreamsBatch],
    *,
    splitter: Splitter | None = None,
    flow_id: str = "streams",
) -> Dataflow:
    """The streams dataflow from sources of raw-event batches (merged) to the two sinks."""
    flow = Dataflow(flow_id)
    inputs = [op.input(f"raw_events_{i}", flow, src) for i, src in enumerate(sources)]
    raw = inputs[0] if len(inputs) == 1 else op.merge("raw_events", *inputs)
    chat, rows = _split_and_step(raw, splitter or Splitter())
    op.output("chat_warehouse", chat, chat_sink)
    op.output("streams_warehouse", rows, streams_sink)
    return flow


def _split_and_step(
    raw: Stream[list[RawEvent]], splitter: Splitter
) -> tuple[Stream[RowBatch], Stream[StreamsBatch]]:
    split = op.map("split", raw, splitter)
    keyed = op.flat_map("by_channel", split, lambda s: s.keyed)
    sessions = op.stateful_map("sessions", keyed, step_session)
    session_rows = op.map("session_rows", sessions, lambda kv: kv[1])
    sample_rows = op.map("sample_rows", split, lambda s: s.samples)
    return op.map("chat_rows", split, lambda s: s.chat), op.merge("streams_rows", sample_rows, session_rows)


def decode_batch(item: KafkaBatch) -> list[RawEvent]:
    """A Kafka batch of EventSub frames or Helix envelopes as raw events; a message that breaks the
    topic contract becomes an event of kind ``""``, which the splitter dead-letters with the reason."""
    key, messages = item
    default_kind = HELIX_KIND if topics.HELIX_STREAMS.name in key else ""
    out: list[RawEvent] = []
    for m in messages:
        ts = m.timestamp()[1]
        try:
            out.append(decode_event(m.key(), m.value(), ts, m.headers(), default_kind))
        except ValueError as exc:
            raw = (m.value() or b"").decode("utf-8", "backslashreplace")
            reason = f"{exc} (Kafka partition {key}, offset {m.offset()})"
            out.append(RawEvent("", _UNDECODABLE + reason, raw, max(ts, 0), "kafka"))
    return out


def kafka_flow(
    brokers: str,
    topic_names: Sequence[str],
    client_factory: Callable[[], Client],
    *,
    batch_rows: int = 5000,
    flush_interval_s: float = 1.0,
    stop: threading.Event | None = None,
    on_flush: Callable[[FlushReport], None] | None = None,
    on_streams_flush: Callable[[int, int], None] | None = None,
    flow_id: str = "streams",
) -> Dataflow:
    """The streams dataflow reading the Helix and EventSub topics from Kafka (distributed mode).

    Run it with Bytewax recovery: the per-channel session state is snapshotted with the input
    positions, and both sinks flush at every snapshot, so a crash re-reads at most the last
    snapshot interval and the re-inserted rows are deduplicated by the tables' keys.
    """
    flow = Dataflow(flow_id)
    inputs = [
        op.input(
            f"kafka_{i}",
            flow,
            KafkaInput(brokers, t, batch_size=min(batch_rows, 5000), tick_s=flush_interval_s / 2, stop=stop),
        )
        for i, t in enumerate(topic_names)
    ]
    raw = op.map("decode", inputs[0] if len(inputs) == 1 else op.merge("kafka_raw", *inputs), decode_batch)
    chat, rows = _split_and_step(raw, Splitter())
    chat_sink = ClickHouseEpochSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_flush
    )
    streams_sink = StreamsEpochSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_streams_flush
    )
    op.output("chat_warehouse", op.map("chat_keyed", chat, lambda b: ("streams", b)), chat_sink)
    op.output("streams_warehouse", op.map("rows_keyed", rows, lambda b: ("streams", b)), streams_sink)
    return flow


def flow(
    settings: Settings | None = None,
    *,
    stop: threading.Event | None = None,
    on_flush: Callable[[FlushReport], None] | None = None,
    on_streams_flush: Callable[[int, int], None] | None = None,
) -> Dataflow:
    """The Kafka streams dataflow from settings (``python -m bytewax.run pipelines.streams:flow``)."""
    settings = settings or get_settings()
    if not settings.kafka_brokers:
        raise ValueError("set STREAMSCOPE_KAFKA_BROKERS: the streams dataflow reads its events from Kafka")
    url, database = settings.clickhouse_url, settings.clickhouse_database
    names = [topic_name(t, settings.kafka_topic_prefix) for t in (topics.HELIX_STREAMS, topics.EVENTSUB_RAW)]
    return kafka_flow(
        settings.kafka_brokers,
        names,
        lambda: connect(url, database),
        batch_rows=settings.sink_batch_rows,
        flush_interval_s=settings.sink_flush_interval_s,
        stop=stop,
        on_flush=on_flush,
        on_streams_flush=on_streams_flush,
    )


def run(
    bus: Bus[RawEvent],
    client_factory: Callable[[], Client],
    *,
    topic_names: Sequence[str] = (topics.HELIX_STREAMS.name, topics.EVENTSUB_RAW.name),
    batch_rows: int = 5000,
    flush_interval_s: float = 1.0,
    on_flush: Callable[[FlushReport], None] | None = None,
    on_streams_flush: Callable[[int, int], None] | None = None,
) -> None:
    """Run the streams dataflow in this thread until every topic is closed and drained."""
    sources = [
        BusInput(bus, t, batch_size=min(batch_rows, 5000), tick_s=flush_interval_s / 2) for t in topic_names
    ]
    chat_sink = ClickHouseSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_flush
    )
    streams_sink = StreamsSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_streams_flush
    )
    run_main(build_flow(sources, chat_sink, streams_sink))
