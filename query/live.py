"""The live reader: what is new in one channel's archive since the last look, for
``GET /v1/channels/{channel}/live`` (server-sent events).

:class:`LiveTail` polls the warehouse (nothing else: it works the same in embedded and distributed
mode, whoever writes the rows). Each :meth:`LiveTail.poll` returns the messages, events and viewer
samples stored since the previous poll, and the chat rate of the last minute.

"New" is decided by keyset position plus an overlap. Rows are keyed by event time (``sent_at``,
Twitch's ``tmi-sent-ts``), and a writer may store a row a little after rows with a later key (one
batch per flush, several sources, Kafka lag). So every poll re-reads the last :data:`OVERLAP_MS`
before the newest key delivered and skips the ids it already sent: a row that arrives up to
``OVERLAP_MS`` late is still delivered, once. A row stored later than that behind the newest key is
not (it is in the history pages). At most :data:`MAX_ROWS` rows are read per poll and kind (above
that rate, ``MAX_ROWS / OVERLAP_MS`` per ms, the oldest of a burst are skipped).

Resuming (``Last-Event-ID``): :func:`resume_token` is the keyset position of a delivered message;
:meth:`LiveTail.start` with it delivers the messages after that position (no backlog) and the
events from :data:`OVERLAP_MS` before its time on (an event sent just before may come again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from streamscope.query import cursor as cursors
from streamscope.query.moderation import page_moderation
from streamscope.query.render import event_object, message_object
from streamscope.query.stored import EVENT_SELECT, MESSAGE_SELECT
from streamscope.warehouse.rows import EventRow, MessageRow
from streamscope.warehouse.shared import Warehouse

CURSOR_SCOPE = "live"
OVERLAP_MS = 15_000
MAX_ROWS = 5_000
RATE_WINDOW_MS = 60_000
#: Event kinds not sent live: per-connection state echoes, not things that happened in the chat.
QUIET_KINDS = ("userstate", "globaluserstate")


class ViewerSample(NamedTuple):
    """One Helix sample: ``at`` epoch ms, ``viewers`` the count."""

    at: int
    viewers: int


class ChatRate(NamedTuple):
    """Messages and distinct chatters with ``sent_at`` in the minute before ``at`` (epoch ms)."""

    at: int
    messages_per_min: int
    chatters_per_min: int


@dataclass(slots=True)
class LiveBatch:
    """What one poll found, each list oldest first; ``stats`` is None when unchanged."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    viewers: list[ViewerSample] = field(default_factory=list)
    stats: ChatRate | None = None
    #: The resume token of the newest message in ``messages`` (None without messages).
    token: str | None = None


def resume_token(ts_ms: int, message_id: str) -> str:
    """The ``Last-Event-ID`` of a delivered message."""
    return cursors.encode(CURSOR_SCOPE, ts_ms, message_id)


def parse_resume(value: str) -> cursors.Position:
    """A ``Last-Event-ID`` made by :func:`resume_token`, else a :class:`QueryError` ``invalid_cursor``."""
    return cursors.decode(CURSOR_SCOPE, value, "Last-Event-ID")


class _Seen:
    """Keys delivered within the overlap window, so a re-read row is skipped."""

    def __init__(self) -> None:
        self.newest: tuple[int, str] | None = None
        self._ids: dict[str, int] = {}

    def floor(self) -> int | None:
        return None if self.newest is None else self.newest[0] - OVERLAP_MS

    def fresh(self, row_id: str) -> bool:
        return row_id not in self._ids

    def add(self, ts: int, row_id: str) -> None:
        self._ids[row_id] = ts
        if self.newest is None or (ts, row_id) > self.newest:
            self.newest = (ts, row_id)

    def prune(self) -> None:
        floor = self.floor()
        if floor is not None:
            self._ids = {k: t for k, t in self._ids.items() if t >= floor}


class LiveTail:
    """Polls one channel's new rows. Not thread-safe: one tail per stream, polled in turn."""

    def __init__(self, warehouse: Warehouse, channel_id: int, clock: Callable[[], float] = time.time) -> None:
        self.warehouse = warehouse
        self.channel_id = channel_id
        self._clock = clock
        self._messages = _Seen()
        self._events = _Seen()
        self._viewers_at: int | None = None
        self._rate: tuple[int, int] | None = None
        self._after: cursors.Position | None = None

    def start(self, backlog: int, resume: cursors.Position | None = None) -> LiveBatch:
        """The first batch: the last ``backlog`` messages and events (or, resuming, what followed
        ``resume``), the newest viewer sample, and the chat rate now."""
        if resume is not None:
            self._after = resume
            self._events.newest = (resume.ts_ms, "")
            self._viewers_at = resume.ts_ms
            batch = self.poll()
            self._after = None
            self._mark_window(resume.ts_ms)
            return batch
        cid = {"cid": self.channel_id, "n": backlog}
        messages = [
            MessageRow._make(r)
            for r in self.warehouse.rows(
                f"SELECT {MESSAGE_SELECT} FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}}"
                " ORDER BY sent_at DESC, message_id DESC LIMIT {n:UInt32}",
                cid,
            )
        ][::-1]
        events = [
            EventRow._make(r)
            for r in self.warehouse.rows(
                f"SELECT {EVENT_SELECT} FROM chat_events FINAL WHERE channel_id = {{cid:UInt64}}"
                " AND kind NOT IN {quiet:Array(String)} ORDER BY at DESC, event_id DESC LIMIT {n:UInt32}",
                {**cid, "quiet": list(QUIET_KINDS)},
            )
        ][::-1]
        batch = LiveBatch()
        self._deliver_messages(messages, batch)
        self._deliver_events(events, batch)
        self._mark_window(int(self._clock() * 1000))
        last = self.warehouse.rows(
            "SELECT toUnixTimestamp64Milli(sampled_at), viewers FROM viewer_samples FINAL"
            " WHERE channel_id = {cid:UInt64} ORDER BY sampled_at DESC LIMIT 1",
            {"cid": self.channel_id},
        )
        batch.viewers = [ViewerSample(int(r[0]), int(r[1])) for r in last]
        self._viewers_at = batch.viewers[-1].at if batch.viewers else int(self._clock() * 1000)
        batch.stats = self._chat_rate()
        self._rate = (batch.stats.messages_per_min, batch.stats.chatters_per_min)
        return batch

    def poll(self) -> LiveBatch:
        """Rows stored since the last poll (see the module docstring) and the chat rate if changed."""
        batch = LiveBatch()
        params: dict[str, Any] = {"cid": self.channel_id, "n": MAX_ROWS}
        if self._after is not None:
            # Resuming: strictly after the client's last message, in key order.
            where = cursors.keyset_conditions("sent_at", "message_id", None, None, self._after, params)
            params["floor"] = self._after.ts_ms
        else:
            where = []
            params["floor"] = self._messages.floor() or 0
        sql = (
            f"SELECT {MESSAGE_SELECT} FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}}"
            " AND sent_at >= fromUnixTimestamp64Milli({floor:Int64}, 'UTC')"
            f"{''.join(' AND ' + w for w in where)}"
            " ORDER BY sent_at DESC, message_id DESC LIMIT {n:UInt32}"
        )
        messages = [MessageRow._make(r) for r in self.warehouse.rows(sql, params)][::-1]
        self._deliver_messages(messages, batch)

        floor = self._events.floor() or 0
        events = [
            EventRow._make(r)
            for r in self.warehouse.rows(
                f"SELECT {EVENT_SELECT} FROM chat_events FINAL WHERE channel_id = {{cid:UInt64}}"
                " AND at >= fromUnixTimestamp64Milli({floor:Int64}, 'UTC')"
                " AND kind NOT IN {quiet:Array(String)} ORDER BY at DESC, event_id DESC LIMIT {n:UInt32}",
                {"cid": self.channel_id, "floor": floor, "n": MAX_ROWS, "quiet": list(QUIET_KINDS)},
            )
        ][::-1]
        self._deliver_events(events, batch)

        samples = self.warehouse.rows(
            "SELECT toUnixTimestamp64Milli(sampled_at), viewers FROM viewer_samples FINAL"
            " WHERE channel_id = {cid:UInt64} AND sampled_at > fromUnixTimestamp64Milli({after:Int64}, 'UTC')"
            " ORDER BY sampled_at LIMIT {n:UInt32}",
            {"cid": self.channel_id, "after": self._viewers_at or 0, "n": MAX_ROWS},
        )
        batch.viewers = [ViewerSample(int(r[0]), int(r[1])) for r in samples]
        if batch.viewers:
            self._viewers_at = batch.viewers[-1].at
        rate = self._chat_rate()
        if (rate.messages_per_min, rate.chatters_per_min) != self._rate or batch.messages:
            batch.stats = rate
        self._rate = (rate.messages_per_min, rate.chatters_per_min)
        return batch

    def _mark_window(self, empty_ms: int) -> None:
        """Mark the rows already stored in the overlap window as sent: they are not new, only what
        is stored from now on is. Without any row sent yet, the window ends at ``empty_ms``."""
        for seen, table, ts_col, id_col in (
            (self._messages, "chat_messages", "sent_at", "message_id"),
            (self._events, "chat_events", "at", "event_id"),
        ):
            if seen.newest is None:
                seen.newest = (empty_ms, "")
            for ts, row_id in self.warehouse.rows(
                f"SELECT toUnixTimestamp64Milli({ts_col}), toString({id_col}) FROM {table}"
                " WHERE channel_id = {cid:UInt64}"
                f" AND {ts_col} >= fromUnixTimestamp64Milli({{floor:Int64}}, 'UTC') LIMIT {{n:UInt32}}",
                {"cid": self.channel_id, "floor": seen.floor() or 0, "n": MAX_ROWS},
            ):
                seen.add(int(ts), row_id)

    def _deliver_messages(self, rows: list[MessageRow], batch: LiveBatch) -> None:
        fresh = [m for m in rows if self._messages.fresh(m.message_id)]
        if fresh:
            moderation = page_moderation(self.warehouse, self.channel_id, fresh)
            batch.messages = [
                message_object(m, moderation.marks(m.message_id, m.user_id, m.sent_at)) for m in fresh
            ]
            for m in fresh:
                self._messages.add(m.sent_at, m.message_id)
            newest = max(fresh, key=lambda m: (m.sent_at, m.message_id))
            batch.token = resume_token(newest.sent_at, newest.message_id)
        self._messages.prune()

    def _deliver_events(self, rows: list[EventRow], batch: LiveBatch) -> None:
        fresh = [e for e in rows if self._events.fresh(e.event_id)]
        batch.events = [event_object(e) for e in fresh]
        for e in fresh:
            self._events.add(e.at, e.event_id)
        self._events.prune()

    def _chat_rate(self) -> ChatRate:
        now = int(self._clock() * 1000)
        ((messages, chatters),) = self.warehouse.rows(
            "SELECT count(), uniqExact(user_id) FROM chat_messages FINAL WHERE channel_id = {cid:UInt64}"
            " AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')"
            " AND sent_at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')",
            {"cid": self.channel_id, "lo": now - RATE_WINDOW_MS, "hi": now},
        )
        return ChatRate(now, int(messages), int(chatters))
