"""Windowed chat statistics computed from the warehouse, and their writer (table ``chat_stats``).

Every ``chat_stats`` row is a pure function of what the deduplicated chat tables hold for its
window (``chat_messages``/``chat_events`` read with FINAL): :func:`load_range` reads a channel's rows
of a time range once, :func:`compute` folds them into one :class:`StatsRow` per window. The stats
dataflow (:mod:`streamscope.pipelines.stats`) only decides *which* windows to (re)compute and *when*;
``streamscope stats rebuild`` calls the same two functions. So a line delivered twice, replayed
hours later or arriving late never counts twice: it is one row in the chat tables, and a recomputed
window replaces the old row (ReplacingMergeTree(computed_at)).

What counts (windows are ``[at, at + step_s)`` in event time, tmi-sent-ts):
* messages: chat_messages rows (distinct message ids); chatters: distinct user ids (a message
  without user-id, as in old logs, counts its login, hashed to a UInt64 by :func:`login_id`);
  first_time_chatters: distinct users with a ``first-msg=1`` message; actions: ``/me`` messages;
  replies: messages with a non-empty ``reply-parent-msg-id``; bits: the ``bits`` tags summed;
  message_length_sum: text lengths in code points.
* emotes: every Twitch emote occurrence of the ``emotes`` tag, named by its text in the message,
  plus each whitespace-separated word found in :attr:`StatsConfig.emote_words` (7TV/BTTV/FFZ names)
  that is not already a Twitch emote of that message.
* chat_events kinds: sub → new_subs, resub → resubs, subgift/anonsubgift (one line per gifted sub;
  the submysterygift announcement is not counted) → gift_subs, raid → raids and raid_viewers
  (msg-param-viewerCount), timeout, ban, clear (CLEARCHAT), delete (CLEARMSG) → deletions.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bytewax.outputs import StatefulSinkPartition
from clickhouse_connect.driver.client import Client

from streamscope.settings import Settings
from streamscope.sinks.bytewax_adapters import KeyRoutedSink
from streamscope.sinks.isolate import retry_unreachable
from streamscope.twitch.irc.fields import emote_positions

log = logging.getLogger(__name__)

#: The two series: 10-second windows (moments) and 1-minute windows (everything else).
STEPS: tuple[int, ...] = (10, 60)
MINUTE_MS = 60_000
#: chat_events kinds that change a window's numbers (others, e.g. roomstate, never make it dirty).
STATS_EVENT_KINDS = frozenset(
    {"sub", "resub", "subgift", "anonsubgift", "raid", "timeout", "ban", "clear", "delete"}
)
TOP_EMOTES = 10
#: The counts of which one is non-zero in every window with data: a row with all of them zero is an
#: emptied window's correction (a rebuild's all-zero row), which readers leave out.
DATA_COUNTS: tuple[str, ...] = ("messages", "subs", "raids", "timeouts", "bans", "deletions", "clears")


@dataclass(frozen=True, slots=True)
class StatsConfig:
    """How stats are computed and when the dataflow closes windows (from Settings ``stats_*``).

    ``lateness_s``: a window closes once the channel's event-time watermark (newest tmi-sent-ts seen,
    advanced by wall-clock time while the channel is quiet) is this far past its end; a line older
    than that is late and re-opens its window. ``max_wait_s``: how long a closed window waits for the
    chat writer to have stored every line the stats dataflow saw in it before it is computed anyway
    (logged). ``emote_words``: third-party emote names counted as words.
    """

    emote_words: frozenset[str] = frozenset()
    lateness_s: float = 1.0
    max_wait_s: float = 300.0
    #: Moment detection after each write (off for throughput measurements of the stats alone).
    moments: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> StatsConfig:
        words = frozenset(w for w in re.split(r"[,\s]+", settings.stats_emote_words) if w)
        return cls(words, settings.stats_lateness_s, settings.stats_max_wait_s)


DEFAULT_CONFIG = StatsConfig()


class StatsRow(NamedTuple):
    """A ``chat_stats`` row (fields in column order, times as epoch ms)."""

    channel_id: int
    channel: str
    step_s: int
    at: int
    messages: int
    chatters: int
    first_time_chatters: int
    actions: int
    replies: int
    chatter_ids: list[int]
    first_time_chatter_ids: list[int]
    emotes: int
    emote_counts: dict[str, int]
    top_emotes: list[tuple[str, int]]
    bits: int
    subs: int
    new_subs: int
    resubs: int
    gift_subs: int
    raids: int
    raid_viewers: int
    timeouts: int
    bans: int
    deletions: int
    clears: int
    message_length_sum: int
    computed_at: int


STATS_COLUMNS: tuple[str, ...] = StatsRow._fields


class StoredMessage(NamedTuple):
    """The columns of a ``chat_messages`` row that :func:`compute` needs (``at``: sent_at, epoch ms)."""

    at: int
    message_id: str
    user_id: int
    user_login: str
    text: str
    is_action: bool
    bits: int
    emotes: str
    first_msg: str
    reply_parent: str


class StoredEvent(NamedTuple):
    """The columns of a ``chat_events`` row that :func:`compute` needs (``viewer_count``: a raid's
    ``msg-param-viewerCount`` tag, as sent)."""

    at: int
    event_id: str
    kind: str
    viewer_count: str


@dataclass(slots=True)
class RangeRows:
    """One channel's stored messages and stats-relevant events of ``[start_ms, end_ms)``."""

    channel_id: int
    start_ms: int
    end_ms: int
    messages: list[StoredMessage] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)

    def ids_in(self, start_ms: int, end_ms: int) -> tuple[set[str], set[str]]:
        """Message ids and event ids stored in ``[start_ms, end_ms)``."""
        return (
            {m.message_id for m in self.messages if start_ms <= m.at < end_ms},
            {e.event_id for e in self.events if start_ms <= e.at < end_ms},
        )


_MESSAGES_SQL = (
    "SELECT toUnixTimestamp64Milli(sent_at), toString(message_id), user_id, user_login, text, "
    "is_action, bits, emotes, tags['first-msg'], tags['reply-parent-msg-id'] "
    "FROM chat_messages FINAL WHERE channel_id = {cid:UInt64} "
    "AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
    "AND sent_at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') ORDER BY sent_at, message_id"
)
_EVENTS_SQL = (
    "SELECT toUnixTimestamp64Milli(at), toString(event_id), kind, tags['msg-param-viewerCount'] "
    "FROM chat_events FINAL WHERE channel_id = {cid:UInt64} "
    "AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
    "AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND kind IN {kinds:Array(String)} ORDER BY at"
)


def load_range(client: Client, channel_id: int, start_ms: int, end_ms: int) -> RangeRows:
    """Read ``[start_ms, end_ms)`` of one channel from the chat tables (FINAL: duplicates once)."""
    params: dict[str, Any] = {"cid": channel_id, "lo": start_ms, "hi": end_ms}
    out = RangeRows(channel_id, start_ms, end_ms)
    out.messages = [
        StoredMessage._make(r) for r in client.query(_MESSAGES_SQL, parameters=params).result_rows
    ]
    params["kinds"] = sorted(STATS_EVENT_KINDS)
    out.events = [StoredEvent._make(r) for r in client.query(_EVENTS_SQL, parameters=params).result_rows]
    return out


def login_id(login: str) -> int:
    """A stable UInt64 standing for a user known only by login (old logs have no user-id)."""
    return int.from_bytes(hashlib.blake2b(login.encode(), digest_size=8).digest(), "big")


def message_emotes(text: str, emotes_tag: str, words: frozenset[str]) -> Counter[str]:
    """Emote name → uses in one message (see the module docstring)."""
    uses: Counter[str] = Counter()
    for _, start, end in emote_positions(emotes_tag):
        name = text[start : end + 1]
        if name:
            uses[name] += 1
    if words:
        twitch = set(uses)
        for word in text.split():
            if word in words and word not in twitch:
                uses[word] += 1
    return uses


def top(counts: Counter[str] | dict[str, int], n: int = TOP_EMOTES) -> list[tuple[str, int]]:
    """The ``n`` largest counts, count descending then name."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def compute(
    rows: RangeRows, channel: str, step_s: int, at_ms: int, config: StatsConfig, computed_at: int
) -> StatsRow:
    """The ``chat_stats`` row of window ``[at_ms, at_ms + step_s)`` from ``rows`` (which must cover it)."""
    end = at_ms + step_s * 1000
    chatters: set[int] = set()
    first: set[int] = set()
    actions = replies = bits = length = 0
    emotes: Counter[str] = Counter()
    messages = 0
    for m in rows.messages:
        if not at_ms <= m.at < end:
            continue
        messages += 1
        uid = m.user_id or login_id(m.user_login)
        chatters.add(uid)
        if m.first_msg == "1":
            first.add(uid)
        actions += m.is_action
        replies += bool(m.reply_parent)
        bits += m.bits
        length += len(m.text)
        emotes.update(message_emotes(m.text, m.emotes, config.emote_words))
    kinds: Counter[str] = Counter()
    raid_viewers = 0
    for e in rows.events:
        if not at_ms <= e.at < end:
            continue
        kinds[e.kind] += 1
        if e.kind == "raid" and e.viewer_count.isascii() and e.viewer_count.isdigit():
            raid_viewers += int(e.viewer_count)
    gifts = kinds["subgift"] + kinds["anonsubgift"]
    return StatsRow(
        rows.channel_id, channel, step_s, at_ms, messages, len(chatters), len(first), actions, replies,
        sorted(chatters), sorted(first), sum(emotes.values()), dict(emotes), top(emotes), bits,
        kinds["sub"] + kinds["resub"] + gifts, kinds["sub"], kinds["resub"], gifts, kinds["raid"],
        raid_viewers, kinds["timeout"], kinds["ban"], kinds["delete"], kinds["clear"], length, computed_at,
    )  # fmt: skip


def windows_with_data(rows: RangeRows, step_s: int) -> list[int]:
    """Starts of the ``step_s`` windows of ``rows`` that hold a message or a counted event."""
    ms = step_s * 1000
    return sorted({m.at - m.at % ms for m in rows.messages} | {e.at - e.at % ms for e in rows.events})


def now_ms() -> int:
    """The wall-clock time in epoch ms: the ``computed_at`` version of recomputed rows."""
    return int(time.time() * 1000)


def recompute(
    client: Client,
    channel_id: int,
    channel: str,
    start_ms: int,
    end_ms: int,
    config: StatsConfig,
    *,
    existing: Iterable[tuple[int, int]] = (),
) -> list[StatsRow]:
    """Rows of every 10 s and 60 s window of ``[start_ms, end_ms)`` (aligned out to whole minutes)
    that has data now, plus an all-zero row for each ``(step_s, at)`` of ``existing`` that has none
    any more (so a rebuild also corrects windows that emptied)."""
    lo, hi = start_ms - start_ms % MINUTE_MS, -(-end_ms // MINUTE_MS) * MINUTE_MS
    rows = load_range(client, channel_id, lo, hi)
    stamp = now_ms()
    out = [compute(rows, channel, s, at, config, stamp) for s in STEPS for at in windows_with_data(rows, s)]
    have = {(r.step_s, r.at) for r in out}
    for step_s, at in existing:
        if (step_s, at) not in have and lo <= at < hi:
            out.append(compute(RangeRows(channel_id, at, at), channel, step_s, at, config, stamp))
    return out


class StatsWriter:
    """Inserts :class:`StatsRow` batches into ``chat_stats``; after each insert,
    ``after_write(client, rows)`` runs (moment detection over the windows just written).

    The sink hands it everything one Bytewax activation produced (:meth:`write`), inserted at once:
    windows are few (one per channel and step when it closes), and a window must be readable
    within a few seconds of closing, so nothing waits for a size or interval. Connection failures
    are retried with capped backoff; rows are derived, so a crash before an insert only means the
    dataflow computes them again from its recovered state.
    """

    def __init__(
        self,
        client: Client,
        *,
        after_write: Callable[[Client, list[StatsRow]], None] | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._client = client
        self._after = after_write
        self._max_backoff = max_backoff_s

    def write(self, rows: list[StatsRow]) -> None:
        if not rows:
            return
        write_stats(self._client, rows, self._max_backoff)
        if self._after is not None:
            self._after(self._client, rows)

    def close(self) -> None:
        self._client.close()


def write_stats(client: Client, rows: Sequence[StatsRow], max_backoff_s: float = 30.0) -> None:
    """Insert ``rows`` into chat_stats (retried while the warehouse is unreachable)."""
    data = [list(r) for r in rows]
    retry_unreachable(lambda: client.insert("chat_stats", data, column_names=STATS_COLUMNS), max_backoff_s)


class _StatsPartition(StatefulSinkPartition[list[StatsRow], None]):
    def __init__(self, writer: StatsWriter) -> None:
        self._writer = writer

    def write_batch(self, items: list[list[StatsRow]]) -> None:
        self._writer.write([row for batch in items for row in batch])

    def snapshot(self) -> None:
        return None  # nothing is ever buffered: write_batch inserts before it returns

    def close(self) -> None:
        self._writer.close()


class StatsSink(KeyRoutedSink[list[StatsRow]]):
    """The stats dataflow's sink: ``(channel key, [StatsRow])`` items, routed by a stable hash of the
    key to ``partitions`` :class:`StatsWriter`s, each with a client from ``warehouse``."""

    def __init__(
        self,
        warehouse: Callable[[], Client],
        *,
        partitions: int = 1,
        after_write: Callable[[Client, list[StatsRow]], None] | None = None,
    ) -> None:
        super().__init__(partitions=partitions, name="stats")
        self._warehouse = warehouse
        self._after = after_write

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _StatsPartition:
        return _StatsPartition(StatsWriter(self._warehouse(), after_write=self._after))
