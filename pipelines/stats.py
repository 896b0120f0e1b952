"""The stats dataflow: raw IRC lines → per-channel event-time windows → ``chat_stats`` (+ moments).

Design (why the numbers always equal what the warehouse holds). The dataflow does not add numbers
up as lines stream by; it decides which windows are *dirty* and when they are *closed*, and each
closed window is then computed from the deduplicated chat tables (:mod:`streamscope.sinks.stats`):

1. Lines are parsed exactly as the chat dataflow parses them (:class:`~streamscope.pipelines.chat
   .ParseEnrich`), so every message and stats-relevant event carries the id the chat writer stores.
   Each channel's ids go to its 10 s and 60 s tumbling windows (event time: tmi-sent-ts).
2. Per channel (a Bytewax ``stateful`` step keyed by channel id) the watermark is the newest
   tmi-sent-ts seen, advanced by wall-clock time while the channel is quiet, minus
   ``lateness_s``. A window closes when the watermark passes its end; a line for a window that
   already closed is *late* and makes that window dirty again at once.
3. A closed window waits until the chat tables hold every id the dataflow saw in it (one read of
   the channel's rows for all waiting windows, which is also the read that computes them), so the
   stats never run ahead of the chat writer, whichever process that writer is in. After
   ``max_wait_s`` it is computed from what is stored, with a warning. Then its row is written with
   a new ``computed_at``, replacing an earlier one (ReplacingMergeTree), and moments are
   re-detected around it (:mod:`streamscope.sinks.moments`).

Duplicates (a replay sent twice, a re-replay hours later, redelivery after kill -9) only make a
window dirty again; recomputing it gives the same numbers. Open and waiting windows are the state
of the ``stateful`` step, snapshotted with the input positions on Kafka, so after a crash every
window that was not written yet is still there.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.pipelines.chat import ParseEnrich, seed_from
from streamscope.pipelines.context import FlowContext
from streamscope.pipelines.transport import KafkaTransport, Received
from streamscope.records import RawLine
from streamscope.settings import get_settings
from streamscope.sinks.moments import after_stats_write
from streamscope.sinks.stats import (
    STATS_EVENT_KINDS,
    STEPS,
    StatsConfig,
    StatsRow,
    StatsSink,
    compute,
    load_range,
)
from streamscope.twitch.irc.rows import RowBatch

log = logging.getLogger(__name__)

#: Waiting windows further apart than this are read from the warehouse separately.
_CLUSTER_GAP_MS = 600_000
_MAX_READ_MS = 3_600_000
_RETRY_MIN_S, _RETRY_MAX_S = 0.2, 2.0


@dataclass(slots=True)
class Touches:
    """One channel's stats-relevant rows of one batch: ``(at_ms, id, is_message)``."""

    channel_id: int
    channel: str
    items: list[tuple[int, str, bool]] = field(default_factory=list)


def touches(item: tuple[str, RowBatch]) -> list[tuple[str, Touches]]:
    """Split a parsed batch by channel (rows of unknown channels, id 0, are not windowed)."""
    _, rows = item
    out: dict[int, Touches] = {}
    for m in rows.messages:
        if m.channel_id:
            t = out.get(m.channel_id)
            if t is None:
                t = out[m.channel_id] = Touches(m.channel_id, m.channel)
            t.items.append((m.sent_at, m.message_id, True))
    for e in rows.events:
        if e.channel_id and e.kind in STATS_EVENT_KINDS:
            t = out.get(e.channel_id)
            if t is None:
                t = out[e.channel_id] = Touches(e.channel_id, e.channel)
            t.items.append((e.at, e.event_id, False))
    return [(str(cid), t) for cid, t in out.items()]


Key = tuple[int, int]  # (step_s, window start ms)


@dataclass(slots=True)
class WindowState:
    """The snapshot of one channel: open windows and closed ones waiting to be computed.

    ``open``/``waiting`` map a window to the (message ids, event ids) seen in it; ``waiting`` also
    holds when the window closed (wall-clock seconds), for ``max_wait_s``.
    """

    channel_id: int
    channel: str
    max_event_ms: int = -1
    observed_s: float = 0.0
    open: dict[Key, tuple[set[str], set[str]]] = field(default_factory=dict)
    waiting: dict[Key, tuple[set[str], set[str], float]] = field(default_factory=dict)


#: How long the end of the input waits, in all, for the chat writer to store what is still missing.
_EOF_WAIT_S = 60.0


class _Clients:
    """One warehouse client per worker thread, opened on first use; and the one deadline every
    channel's :meth:`ChannelWindows.on_eof` shares (so many channels do not wait one after another)."""

    def __init__(self, factory: Callable[[], Client]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._eof_deadline: float | None = None
        self._lock = threading.Lock()

    def eof_deadline(self, wait_s: float) -> float:
        with self._lock:
            if self._eof_deadline is None:
                self._eof_deadline = time.monotonic() + wait_s
            return self._eof_deadline

    def get(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
        return client


class ChannelWindows(op.StatefulLogic[Touches, list[StatsRow], WindowState]):
    """The per-channel windowing logic (steps 2 and 3 of the module docstring)."""

    def __init__(
        self, state: WindowState, config: StatsConfig, clients: _Clients, clock: Callable[[], float]
    ) -> None:
        self.state = state
        self._config = config
        self._clients = clients
        self._clock = clock
        self._retry_at: float | None = None
        self._backoff = _RETRY_MIN_S

    def _watermark(self, now: float) -> float:
        s = self.state
        if s.max_event_ms < 0:
            return float("-inf")
        return s.max_event_ms + (now - s.observed_s) * 1000 - self._config.lateness_s * 1000

    def on_item(self, value: Touches) -> tuple[Iterable[list[StatsRow]], bool]:
        s, now = self.state, self._clock()
        s.channel_id = s.channel_id or value.channel_id
        s.channel = value.channel or s.channel
        for at, ident, is_message in value.items:
            if at > s.max_event_ms:
                s.max_event_ms, s.observed_s = at, now
            mark = self._watermark(now)
            for step in STEPS:
                ms = step * 1000
                key = (step, at - at % ms)
                if key[1] + ms <= mark and key not in s.open:  # late: that window was closed
                    w = s.waiting.get(key)
                    if w is None:
                        w = s.waiting[key] = (set(), set(), now)
                        self._retry_at = now  # recompute it at the next chance
                    (w[0] if is_message else w[1]).add(ident)
                else:
                    o = s.open.get(key)
                    if o is None:
                        o = s.open[key] = (set(), set())
                    (o[0] if is_message else o[1]).add(ident)
        return self._advance(now), op.StatefulLogic.RETAIN

    def on_notify(self) -> tuple[Iterable[list[StatsRow]], bool]:
        return self._advance(self._clock()), op.StatefulLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[list[StatsRow]], bool]:
        """The input ended (a replay drained, or a stop): close everything and wait, bounded, for
        the chat writer to store the rest, so a replay ends with its stats written."""
        s = self.state
        now = self._clock()
        for key, (msgs, evts) in s.open.items():
            s.waiting[key] = (msgs, evts, now)
        s.open.clear()
        out: list[StatsRow] = []
        deadline = self._clients.eof_deadline(min(self._config.max_wait_s, _EOF_WAIT_S))
        while s.waiting:
            out += self._compute_ready(self._clock(), force=time.monotonic() >= deadline)
            if s.waiting:
                time.sleep(0.1)
        return ([out] if out else []), op.StatefulLogic.RETAIN

    def notify_at(self) -> datetime | None:
        s = self.state
        times = []
        if s.open:
            end = min(at + step * 1000 for step, at in s.open)
            times.append(s.observed_s + (end - s.max_event_ms) / 1000 + self._config.lateness_s)
        if s.waiting and self._retry_at is not None:
            times.append(self._retry_at)
        return datetime.fromtimestamp(min(times), UTC) if times else None

    def snapshot(self) -> WindowState:
        return copy.deepcopy(self.state)

    def _advance(self, now: float) -> list[list[StatsRow]]:
        s = self.state
        mark = self._watermark(now)
        for key in [k for k in s.open if k[1] + k[0] * 1000 <= mark]:
            msgs, evts = s.open.pop(key)
            w = s.waiting.get(key)
            if w is None:
                s.waiting[key] = (msgs, evts, now)
            else:
                w[0].update(msgs)
                w[1].update(evts)
            self._retry_at = now
        if not s.waiting or self._retry_at is None or now < self._retry_at:
            return []
        rows = self._compute_ready(now)
        if s.waiting:
            self._retry_at = now + self._backoff
            self._backoff = min(self._backoff * 2, _RETRY_MAX_S)
        else:
            self._retry_at, self._backoff = None, _RETRY_MIN_S
        return [rows] if rows else []

    def _compute_ready(self, now: float, *, force: bool = False) -> list[StatsRow]:
        """Compute every waiting window whose ids are all stored (or that waited too long)."""
        s = self.state
        client = self._clients.get()
        out: list[StatsRow] = []
        stamp = int(time.time() * 1000)
        for lo, hi, keys in _clusters(s.waiting):
            rows = load_range(client, s.channel_id, lo, hi)
            for step, at in keys:
                msgs, evts, since = s.waiting[(step, at)]
                stored_msgs, stored_evts = rows.ids_in(at, at + step * 1000)
                timed_out = force or now - since >= self._config.max_wait_s
                if (msgs <= stored_msgs and evts <= stored_evts) or timed_out:
                    if timed_out and not (msgs <= stored_msgs and evts <= stored_evts):
                        log.warning(
                            "stats of %s %ds window at %d computed before the chat writer stored "
                            "%d of its lines (waited %.0fs); `streamscope stats rebuild` corrects it",
                            s.channel, step, at, len(msgs - stored_msgs) + len(evts - stored_evts),
                            now - since,
                        )  # fmt: skip
                    out.append(compute(rows, s.channel, step, at, self._config, stamp))
                    del s.waiting[(step, at)]
        return out


def _clusters(waiting: Mapping[Key, object]) -> list[tuple[int, int, list[Key]]]:
    """Waiting windows grouped into ranges read at once (close together, at most an hour)."""
    keys = sorted(waiting, key=lambda k: (k[1], k[0]))
    out: list[tuple[int, int, list[Key]]] = []
    for step, at in keys:
        end = at + step * 1000
        if out and at - out[-1][1] <= _CLUSTER_GAP_MS and end - out[-1][0] <= _MAX_READ_MS:
            lo, hi, group = out[-1]
            group.append((step, at))
            out[-1] = (lo, max(hi, end), group)
        else:
            out.append((at, end, [(step, at)]))
    return out


def graph(ctx: FlowContext, clock: Callable[[], float] = time.time) -> Dataflow:
    """The stats dataflow: ``twitch.irc.raw`` from ``ctx.transport`` into chat_stats/chat_moments."""
    config = ctx.stats
    clients = _Clients(ctx.warehouse)
    flow = Dataflow("stats")
    raw = ctx.transport.inbound(flow, "raw_lines", topics.IRC_RAW)
    parse = ParseEnrich(seed_from(ctx))

    def parsed(batch: Received[RawLine]) -> tuple[str, RowBatch]:
        return parse(batch)

    rows = op.map("parse_enrich", raw, parsed)
    keyed = op.flat_map("by_channel", rows, touches)

    def build(state: WindowState | None) -> ChannelWindows:
        return ChannelWindows(state or WindowState(0, ""), config, clients, clock)

    windows = op.stateful("windows", keyed, build)
    after = after_stats_write() if config.moments else None
    op.output("warehouse", windows, StatsSink(ctx.warehouse, partitions=ctx.writers, after_write=after))
    return flow


def flow() -> Dataflow:
    """The stats dataflow on Kafka, as the environment's settings describe it
    (``python -m bytewax.run streamscope.pipelines.stats:flow``)."""
    settings = get_settings()
    return graph(FlowContext.from_settings(settings, KafkaTransport.from_settings(settings)))
