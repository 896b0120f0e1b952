"""The stats reader: one channel's chat statistics over time (table ``chat_stats``, migration 0005).

:func:`stats_series` answers ``GET /v1/channels/{channel}/stats``: buckets of ``step_s`` seconds
(60, 300, 3600 or 86400, aligned to the Unix epoch, so days are UTC days), each aggregating the
1-minute rows whose window starts in the bucket and in ``[start_ms, end_ms)``. Aggregation is exact:
counts are sums, distinct chatters are the size of the union of the rows' ``chatter_ids`` (not a
sum of per-minute counts), emote counts are summed maps, ``avg_message_length`` is the summed length
over the summed messages. Rows are read with FINAL, so a corrected window counts only in its newest
version. Buckets without chat (no row, or only rows of emptied windows) are omitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from streamscope.query.db import DB, rows_of
from streamscope.query.errors import BadParameter
from streamscope.sinks.stats import DATA_COUNTS, top

#: Bucket widths the API accepts, by name.
STEPS: dict[str, int] = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
MAX_POINTS = 10_000


class StatsPoint(NamedTuple):
    """One bucket of :func:`stats_series` (``at``: bucket start, epoch ms)."""

    at: int
    messages: int
    chatters: int
    first_time_chatters: int
    actions: int
    replies: int
    emotes: int
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
    avg_message_length: float
    top_emotes: list[tuple[str, int]]

    def as_json(self) -> dict[str, Any]:
        """The point as the API returns it (``top_emotes`` as ``[{name, count}]``)."""
        out = self._asdict()
        out["top_emotes"] = [{"name": n, "count": c} for n, c in self.top_emotes]
        return out


def parse_step(value: str) -> int:
    """``1m``, ``5m``, ``1h`` or ``1d`` → seconds; anything else is a :class:`BadParameter`."""
    step = STEPS.get(value.strip().lower())
    if step is None:
        raise BadParameter("step", f"{value[:20]!r} is not one of {', '.join(STEPS)}")
    return step


def check_points(start_ms: int, end_ms: int, step_s: int) -> None:
    """A :class:`BadParameter` on ``step`` when ``[start_ms, end_ms)`` spans more than
    :data:`MAX_POINTS` buckets of ``step_s``."""
    first = start_ms - start_ms % (step_s * 1000)
    if (end_ms - first) / 1000 / step_s > MAX_POINTS:
        raise BadParameter(
            "step",
            f"start..end would give more than {MAX_POINTS} points; narrow the range or use a larger step",
        )


_SPAN_SQL = (
    "SELECT toUnixTimestamp64Milli(min(at)), toUnixTimestamp64Milli(max(at)), count() FROM chat_stats "
    "WHERE channel_id = {cid:UInt64} AND step_s = 60"
)
# Buckets of only emptied windows (all DATA_COUNTS zero) are left out.
_HAS_DATA = " + ".join(f"sum({c})" for c in DATA_COUNTS) + " > 0"
_SERIES_SQL = (
    """
SELECT toInt64(toUnixTimestamp(toStartOfInterval(at, toIntervalSecond({step:UInt32})))) * 1000 AS b,
       sum(messages), length(groupUniqArrayArray(chatter_ids)),
       length(groupUniqArrayArray(first_time_chatter_ids)), sum(actions), sum(replies), sum(emotes),
       sum(bits), sum(subs), sum(new_subs), sum(resubs), sum(gift_subs), sum(raids), sum(raid_viewers),
       sum(timeouts), sum(bans), sum(deletions), sum(clears), sum(message_length_sum),
       sumMap(emote_counts)
FROM chat_stats FINAL
WHERE channel_id = {cid:UInt64} AND step_s = 60
  AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
GROUP BY b
HAVING """
    + _HAS_DATA
    + "\nORDER BY b\n"
)


def top_emotes(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The :data:`~streamscope.sinks.stats.TOP_EMOTES` most used emotes of a stored ``emote_counts``
    map, ordered as in ``chat_stats`` rows (:func:`streamscope.sinks.stats.top`); zero counts dropped."""
    return top({str(k): int(v) for k, v in counts.items() if v})


def stats_series(
    client: DB, channel_id: int, start_ms: int | None, end_ms: int | None, step_s: int
) -> list[StatsPoint]:
    """Buckets of ``step_s`` seconds with chat in ``[start_ms, end_ms)`` (either open: the
    channel's first/last window), oldest first; more than :data:`MAX_POINTS` buckets in the range is
    a :class:`BadParameter` on ``step``. ``client``: a Warehouse or a clickhouse-connect client."""
    if step_s not in STEPS.values():
        raise BadParameter("step", f"must be one of {', '.join(STEPS)}")
    if start_ms is None or end_ms is None:
        lo, hi, n = rows_of(client, _SPAN_SQL, {"cid": channel_id})[0]
        if not n:
            return []
        start_ms = int(lo) if start_ms is None else start_ms
        end_ms = int(hi) + 60_000 if end_ms is None else end_ms
    if end_ms <= start_ms:
        return []
    check_points(start_ms, end_ms, step_s)
    rows = rows_of(client, _SERIES_SQL, {"cid": channel_id, "step": step_s, "lo": start_ms, "hi": end_ms})
    out = []
    for r in rows:
        messages, length = int(r[1]), int(r[18])
        # r: bucket, messages, the 16 counts in StatsPoint order, summed length, summed emote map
        counts = [int(v) for v in r[2:18]]
        avg = round(length / messages, 3) if messages else 0.0
        out.append(StatsPoint._make([int(r[0]), messages, *counts, avg, top_emotes(r[19])]))
    return out


class SessionChat(NamedTuple):
    """Chat of one stream session from the stats tables (see :func:`session_chat`)."""

    messages_per_min: float
    top_emotes: list[tuple[str, int]]


def session_chat(client: DB, channel_id: int, start_ms: int, end_ms: int) -> SessionChat:
    """Messages per minute over ``[start_ms, end_ms)`` (the 1-minute rows' messages over the span's
    minutes) and the top emotes of those rows (exact: from their summed ``emote_counts``). Used for
    a stream session, and for the range of a ``/stats`` answer."""
    rows = rows_of(
        client,
        "SELECT sum(messages), sumMap(emote_counts) FROM chat_stats FINAL WHERE channel_id = {cid:UInt64} "
        "AND step_s = 60 AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')",
        {"cid": channel_id, "lo": start_ms, "hi": end_ms},
    )
    messages, emotes = (int(rows[0][0]), rows[0][1]) if rows else (0, {})
    minutes = max(end_ms - start_ms, 1) / 60_000
    return SessionChat(round(messages / minutes, 3), top_emotes(emotes or {}))
