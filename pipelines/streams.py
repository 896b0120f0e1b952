"""The streams dataflow: Helix samples + EventSub payloads → viewer_samples, streams, chat tables.

Items are batches of :class:`~streamscope.records.RawEvent` from the HELIX_STREAMS and EVENTSUB_RAW
topics. ``split`` turns a batch into:

* viewer_samples rows (one per live channel per poll) and channel id/login pairs;
* keyed session inputs — ``(login, sample | absent | online | offline | update)`` — which a Bytewax
  ``stateful_map`` applies to each channel's :class:`~streamscope.twitch.sessions.ChannelState`;
* EventSub chat kinds (``channel.chat.*``, moderation, ...) mapped to chat rows by
  ``streamscope.twitch.eventsub.rows.classify`` into the same tables as IRC;
* dead letters (stage ``streams``) for every payload or stream item that cannot be used, with why.

Chat rows and dead letters go to the chat sink; samples and session rows to the streams sink
(:class:`~streamscope.pipelines.context.FlowContext`). Empty batches (idle ticks) still reach both
sinks, so time-based flushes happen when nothing arrives. A channel without state starts from the
sessions stored before (:func:`load_open_sessions`, read when the first item arrives), so a restart
continues them; with Bytewax recovery (Kafka) a channel's recovered state wins.

:func:`graph` is the one graph over any transport; ``python -m bytewax.run
streamscope.pipelines.streams:flow`` runs it on Kafka from the environment (:func:`flow`).
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
from bytewax.dataflow import Dataflow
from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.pipelines.context import FlowContext
from streamscope.pipelines.transport import KafkaTransport, Received
from streamscope.records import RawEvent
from streamscope.settings import get_settings
from streamscope.sinks.streams import StreamsBatch
from streamscope.timeutil import MAX_MS, iso_ms
from streamscope.twitch.eventsub.rows import classify as classify_eventsub
from streamscope.twitch.helix import HelixPayloadError, StreamSample, check_id, check_ms, parse_envelope
from streamscope.twitch.irc.rows import RowBatch
from streamscope.twitch.sessions import (
    KEEP_CLOSED,
    Absent,
    ChannelState,
    Offline,
    Online,
    Session,
    SessionInput,
    StreamEvent,
    TitleAndGame,
)
from streamscope.warehouse.rows import DeadLetterRow, ViewerSampleRow

log = logging.getLogger(__name__)

STREAM_KINDS = frozenset({"stream.online", "stream.offline", "channel.update"})
HELIX_KIND = "helix.streams"

ChatClassifier = Callable[[Sequence[RawEvent], dict[str, int]], RowBatch]


@dataclass(slots=True)
class Split:
    key: str = ""
    keyed: list[tuple[str, SessionInput]] = field(default_factory=list)
    samples: StreamsBatch = field(default_factory=lambda: StreamsBatch())
    chat: RowBatch = field(default_factory=RowBatch)


def _dead(event: RawEvent, reason: str, raw: str | None = None) -> DeadLetterRow:
    # received_at is a Kafka record time (any producer can set it): the dead letter must store.
    at = event.received_at if 0 <= event.received_at <= MAX_MS else int(time.time() * 1000)
    return DeadLetterRow(at, event.source, event.channel, "streams", reason[:500], raw or event.payload)


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
    return TitleAndGame(
        uid, login, title, str(ev.get("category_id") or ""), str(ev.get("category_name") or ""), at
    )


class Splitter:
    """Batch of raw events → :class:`Split` (see the module contract). Thread-safe."""

    def __init__(self, classify_chat: ChatClassifier = classify_eventsub) -> None:
        self._classify = classify_chat
        self.channel_ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, batch: Received[RawEvent]) -> Split:
        out = Split(batch.key)
        out.chat.dead_letters.extend(batch.rejected)
        chat: list[RawEvent] = []
        for event in batch.records:
            if event.kind == HELIX_KIND:
                self._helix(event, out)
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
            with self._lock:
                rows = self._classify(chat, self.channel_ids)
            out.chat.messages.extend(rows.messages)
            out.chat.events.extend(rows.events)
            out.chat.dead_letters.extend(rows.dead_letters)
            out.chat.channels.update(rows.channels)
            out.chat.control += rows.control
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
                ViewerSampleRow(
                    s.channel_id, s.channel, s.sampled_at, s.viewers, s.stream_id, s.started_at, s.game_id,
                    s.game, s.title, s.language, event.source,
                )
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
    """:func:`step_session` starting a channel without state from ``seed()`` (login → state, e.g.
    :func:`load_open_sessions`, called once, with the first item): a restarted dataflow continues
    the sessions stored before it. A channel whose state Bytewax recovery restored ignores the seed
    (the recovered state is newer). Thread-safe."""

    def __init__(self, seed: Callable[[], Mapping[str, ChannelState]]) -> None:
        self._load: Callable[[], Mapping[str, ChannelState]] | None = seed
        self._seed: dict[str, ChannelState] = {}
        self._lock = threading.Lock()

    def __call__(self, state: ChannelState | None, item: SessionInput) -> tuple[ChannelState, StreamsBatch]:
        if state is None:
            login = item.channel if isinstance(item, StreamSample) else item.login
            with self._lock:
                if self._load is not None:
                    self._seed = dict(self._load())
                    self._load = None
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


def _seed_from(ctx: FlowContext) -> Callable[[], dict[str, ChannelState]]:
    def seed() -> dict[str, ChannelState]:
        client = ctx.warehouse()
        try:
            return load_open_sessions(client)
        finally:
            client.close()

    return seed


def graph(ctx: FlowContext, seed: Callable[[], Mapping[str, ChannelState]] | None = None) -> Dataflow:
    """The streams dataflow: Helix answers and EventSub frames from ``ctx.transport`` into
    viewer_samples, streams (sessions) and the chat tables (see the module docstring). Channels
    without state start from ``seed()`` (default: :func:`load_open_sessions` of the warehouse)."""
    flow = Dataflow("streams")
    helix = ctx.transport.inbound(flow, "helix", topics.HELIX_STREAMS)
    eventsub = ctx.transport.inbound(flow, "eventsub", topics.EVENTSUB_RAW)
    split = op.map("split", op.merge("raw_events", helix, eventsub), Splitter())
    keyed = op.flat_map("by_channel", split, lambda s: s.keyed)
    sessions = op.stateful_map("sessions", keyed, SeededSteps(seed or _seed_from(ctx)))
    session_rows = op.map("session_rows", sessions, lambda kv: ("sessions", kv[1]))
    sample_rows = op.map("sample_rows", split, lambda s: (s.key, s.samples))
    chat = op.map("chat_rows", split, lambda s: (s.key, s.chat))
    op.output("chat_warehouse", chat, ctx.chat_sink())
    op.output("streams_warehouse", op.merge("streams_rows", sample_rows, session_rows), ctx.streams_sink())
    return flow


def flow() -> Dataflow:
    """The streams dataflow on Kafka from the environment's settings: the entry point of
    ``python -m bytewax.run streamscope.pipelines.streams:flow`` (see
    :func:`streamscope.pipelines.chat.flow`)."""
    settings = get_settings()
    return graph(FlowContext.from_settings(settings, KafkaTransport.from_settings(settings)))
