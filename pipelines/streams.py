"""The streams dataflow: Helix samples + EventSub payloads → viewer_samples, streams, chat tables.

Items are batches of :class:`~streamscope.records.RawEvent` from the HELIX_STREAMS and EVENTSUB_RAW
topics. ``split`` turns a batch into:

* viewer_samples rows (one per live channel per poll) and channel id/login pairs;
* keyed session inputs — ``(login, sample | absent | online | offline | update)`` — which a Bytewax
  ``stateful_map`` applies to each channel's :class:`~streamscope.twitch.sessions.ChannelState`;
* EventSub chat kinds (``channel.chat.*``, moderation, ...) mapped to chat rows by
  ``streamscope.twitch.eventsub.rows.classify`` into the same tables as IRC;
* dead letters (stage ``streams``) for every payload or stream item that cannot be used, with why.

Chat rows and dead letters go to the chat :class:`~streamscope.sinks.clickhouse.ClickHouseSink`; samples and
session rows to :class:`~streamscope.sinks.streams.StreamsSink`. Empty batches (idle ticks) still reach both
sinks, so time-based flushes happen when nothing arrives. A channel without state starts from the
sessions stored before (:func:`load_open_sessions`), so a restart continues them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bytewax.operators as op
import orjson
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink
from bytewax.testing import run_main
from clickhouse_connect.driver.client import Client
from streamscope.sinks.clickhouse import ClickHouseEpochSink, ClickHouseSink, FlushReport
from streamscope.sinks.streams import StreamsBatch, StreamsEpochSink, StreamsSink
from streamscope.sources.bus_input import BusInput
from streamscope.sources.kafka_input import KafkaBatch, KafkaInput

from streamscope import topics
from streamscope.bus import Bus
from streamscope.kafka import decode_event, topic_name
from streamscope.records import RawEvent
from streamscope.settings import Settings, get_settings
from streamscope.twitch.helix import (
    MAX_MS,
    HelixPayloadError,
    StreamSample,
    check_id,
    check_ms,
    iso_ms,
    parse_envelope,
)
from streamscope.twitch.irc.rows import RowBatch
from streamscope.twitch.sessions import (
    KEEP_CLOSED,
    Absent,
    ChannelState,
    ChannelUpdate,
    Offline,
    Online,
    Session,
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
    # received_at is a Kafka record time (any producer can set it): the dead letter must store.
    at = event.received_at if 0 <= event.received_at < MAX_MS else int(time.time() * 1000)
    return (at, event.source, event.channel, "streams", reason[:500], raw or event.payload)


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
    try:
        return _stream_event(event.kind, ev, meta, event.received_at)
    except ValueError as exc:
        raise ValueError(f"{event.kind}: {exc}") from None


def _stream_event(kind: str, ev: dict[str, Any], meta: dict[str, Any], received_at: int) -> StreamEvent:
    uid = check_id(ev.get("broadcaster_user_id"), "broadcaster_user_id")
    login = ev.get("broadcaster_user_login")
    if not isinstance(login, str) or not login:
        raise ValueError("broadcaster_user_login missing")
    login = login.lower()
    stamp = meta.get("message_timestamp")
    at = check_ms(iso_ms(stamp) if isinstance(stamp, str) else received_at, "message_timestamp")
    if kind == "stream.online":
        sid, started = ev.get("id"), ev.get("started_at")
        if not isinstance(sid, str) or not sid or not isinstance(started, str):
            raise ValueError("id or started_at missing")
        return Online(uid, login, sid, check_ms(iso_ms(started), "started_at"), at)
    if kind == "stream.offline":
        return Offline(uid, login, at)
    title = ev.get("title")
    if not isinstance(title, str):
        raise ValueError("title missing")
    return ChannelUpdate(
        uid, login, title, str(ev.get("category_id") or ""), str(ev.get("category_name") or ""), at
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


class SeededSteps:
    """:func:`step_session` starting a channel without state from ``seed`` (login → state), e.g.
    :func:`load_open_sessions`: a restarted dataflow continues the sessions stored before it. A
    channel whose state Bytewax recovery restored ignores the seed (the recovered state is newer)."""

    def __init__(self, seed: Mapping[str, ChannelState]) -> None:
        self._seed = dict(seed)

    def __call__(self, state: ChannelState | None, item: SessionInput) -> tuple[ChannelState, StreamsBatch]:
        if state is None:
            login = item.channel if isinstance(item, StreamSample) else item.login
            state = self._seed.pop(login, None)
        return step_session(state, item)


_SESSIONS_SQL = """
SELECT channel_id, channel, stream_id, toUnixTimestamp64Milli(started_at),
       toUnixTimestamp64Milli(ended_at), end_reason, toUnixTimestamp64Milli(last_sample_at),
       peak_viewers, viewer_sum, samples,
       arrayMap(s -> (toUnixTimestamp64Milli(s.1), s.2, s.3, s.4), segments), version
FROM streams FINAL
WHERE ended_at IS NULL OR ended_at >= fromUnixTimestamp64Milli(toInt64({since}))
ORDER BY channel, isNull(ended_at) DESC, started_at DESC
LIMIT {keep} BY channel
"""


def load_open_sessions(client: Client, *, closed_within_s: float | None = 86400.0) -> dict[str, ChannelState]:
    """The session state to start the dataflow from (login → state), read from ``streams FINAL``:
    every open session, so that later samples continue it (peak, sum, samples, segments) and an
    absence or ``stream.offline`` closes it, plus the last :data:`KEEP_CLOSED` sessions of each
    channel closed within ``closed_within_s`` (None: any time), so that a vanished stream coming back
    reopens its session and late samples count into theirs instead of starting new rows."""
    since = 0 if closed_within_s is None else int((time.time() - closed_within_s) * 1000)
    rows = client.query(_SESSIONS_SQL.format(since=max(since, 0), keep=KEEP_CLOSED)).result_rows
    by_login: dict[str, list[Session]] = {}
    versions: dict[str, int] = {}
    for cid, login, sid, started, ended, reason, last, peak, total, n, segments, version in rows:
        by_login.setdefault(login, []).append(
            Session(
                int(cid), login, sid, int(started), None if ended is None else int(ended), reason,
                None if last is None else int(last), int(peak), int(total), int(n),
                [(int(at), title, game_id, game) for at, title, game_id, game in segments],
            )
        )  # fmt: skip
        versions[login] = max(versions.get(login, 0), int(version))
    return {login: ChannelState.resume(found, versions[login]) for login, found in by_login.items()}


def build_flow(
    sources: Sequence[Source[list[RawEvent]]],
    chat_sink: Sink[RowBatch],
    streams_sink: Sink[StreamsBatch],
    *,
    splitter: Splitter | None = None,
    flow_id: str = "streams",
    seed: Mapping[str, ChannelState] | None = None,
) -> Dataflow:
    """The streams dataflow from streamscope.sources of raw-event batches (merged) to the two sinks; channels
    start from ``seed`` (see :class:`SeededSteps`)."""
    flow = Dataflow(flow_id)
    inputs = [op.input(f"raw_events_{i}", flow, src) for i, src in enumerate(sources)]
    raw = inputs[0] if len(inputs) == 1 else op.merge("raw_events", *inputs)
    chat, rows = _split_and_step(raw, splitter or Splitter(), seed)
    op.output("chat_warehouse", chat, chat_sink)
    op.output("streams_warehouse", rows, streams_sink)
    return flow


def _split_and_step(
    raw: Stream[list[RawEvent]], splitter: Splitter, seed: Mapping[str, ChannelState] | None = None
) -> tuple[Stream[RowBatch], Stream[StreamsBatch]]:
    split = op.map("split", raw, splitter)
    keyed = op.flat_map("by_channel", split, lambda s: s.keyed)
    sessions = op.stateful_map("sessions", keyed, SeededSteps(seed) if seed else step_session)
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
    seed: Mapping[str, ChannelState] | None = None,
) -> Dataflow:
    """The streams dataflow reading the Helix and EventSub topics from Kafka (distributed mode).

    Run it with Bytewax recovery: the per-channel session state is snapshotted with the input
    positions, and both sinks flush at every snapshot, so a crash re-reads at most the last
    snapshot interval and the re-inserted rows are deduplicated by the tables' keys. ``seed``
    (:func:`load_open_sessions`) starts the channels the recovery store has no state for, e.g. with
    a fresh store, from the sessions already stored.
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
    chat, rows = _split_and_step(raw, Splitter(), seed)
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
    """The Kafka streams dataflow from settings (``python -m bytewax.run
    streamscope.pipelines.streams:flow``)."""
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
        # Open sessions from the warehouse; a recovery store's own state wins where it has one.
        seed=load_open_sessions(connect(url, database)),
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
    seed: Mapping[str, ChannelState] | None = None,
) -> None:
    """Run the streams dataflow in this thread until every topic is closed and drained.

    The channels start from ``seed``, by default :func:`load_open_sessions` of the warehouse: the
    in-process bus keeps nothing across restarts, so the stored sessions are the state to resume.
    """
    if seed is None:
        client = client_factory()
        try:
            seed = load_open_sessions(client)
        finally:
            client.close()
    sources = [
        BusInput(bus, t, batch_size=min(batch_rows, 5000), tick_s=flush_interval_s / 2) for t in topic_names
    ]
    chat_sink = ClickHouseSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_flush
    )
    streams_sink = StreamsSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_streams_flush
    )
    run_main(build_flow(sources, chat_sink, streams_sink, seed=seed))
