"""``streamscope stats rebuild``: recompute chat_stats and chat_moments of a channel from the chat
tables, e.g. after a parser fix re-ingested lines, or for data stored before the stats dataflow ran.

The range is walked in chunks of :data:`CHUNK_MS` (whole minutes). Each chunk is computed exactly as
the dataflow computes a window (:func:`streamscope.sinks.stats.recompute`, the same functions), and
windows stored for the chunk that have no data any more get an all-zero row, so the result equals a
fresh computation whatever was stored before. Moments are re-detected chunk by chunk, right after
the chunk's windows are written. Rerunning it changes nothing but ``computed_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from clickhouse_connect.driver.client import Client

from streamscope.sinks.moments import DEFAULT_PARAMS, MomentParams, MomentRow, refresh_moments
from streamscope.sinks.stats import (
    DATA_COUNTS,
    DEFAULT_CONFIG,
    MINUTE_MS,
    STATS_EVENT_KINDS,
    StatsConfig,
    StatsRow,
    recompute,
    write_stats,
)

CHUNK_MS = 3_600_000
_EXISTING_SQL = (
    "SELECT step_s, toUnixTimestamp64Milli(at) FROM chat_stats FINAL "
    f"WHERE channel_id = {{cid:UInt64}} AND {' + '.join(DATA_COUNTS)} > 0 "
    "AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
    "AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')"
)


@dataclass(slots=True)
class RebuildReport:
    """What a rebuild wrote: window rows (10 s and 60 s), of them emptied windows, and moments."""

    windows: int = 0
    emptied: int = 0
    moments: int = 0


class ChatSpan(NamedTuple):
    """``[start, end)`` epoch ms holding all of a channel's stored chat."""

    start: int
    end: int


def chat_span(client: Client, channel_id: int) -> ChatSpan | None:
    """From the channel's first stored message or event to just after its last (None when it has
    none)."""
    rows = client.query(
        "SELECT min(lo), max(hi) FROM ("
        "SELECT toUnixTimestamp64Milli(min(sent_at)) AS lo, toUnixTimestamp64Milli(max(sent_at)) AS hi "
        "FROM chat_messages WHERE channel_id = {cid:UInt64} UNION ALL "
        "SELECT toUnixTimestamp64Milli(min(at)), toUnixTimestamp64Milli(max(at)) "
        "FROM chat_events WHERE channel_id = {cid:UInt64}) WHERE hi > 0",
        parameters={"cid": channel_id},
    ).result_rows
    if not rows or rows[0][0] is None or rows[0][1] is None or int(rows[0][1]) == 0:
        return None
    return ChatSpan(int(rows[0][0]), int(rows[0][1]) + 1)


def chunks_with_data(client: Client, channel_id: int, lo: int, hi: int) -> list[int]:
    """Starts of the :data:`CHUNK_MS` chunks of ``[lo, hi)`` that hold chat, stats-relevant events or
    stats rows (a channel with a few days of chat over years is a few dozen chunks, not 10^4)."""
    rows = client.query(
        "SELECT DISTINCT h FROM ("
        "SELECT intDiv(toUnixTimestamp64Milli(sent_at), {c:Int64}) * {c:Int64} AS h FROM chat_messages "
        "WHERE channel_id = {cid:UInt64} AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND sent_at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') UNION ALL "
        "SELECT intDiv(toUnixTimestamp64Milli(at), {c:Int64}) * {c:Int64} FROM chat_events "
        "WHERE channel_id = {cid:UInt64} AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND kind IN {kinds:Array(String)} UNION ALL "
        "SELECT intDiv(toUnixTimestamp64Milli(at), {c:Int64}) * {c:Int64} FROM chat_stats "
        "WHERE channel_id = {cid:UInt64} AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')) ORDER BY h",
        parameters={"cid": channel_id, "lo": lo, "hi": hi, "c": CHUNK_MS, "kinds": sorted(STATS_EVENT_KINDS)},
    ).result_rows
    return [int(r[0]) for r in rows]


def rebuild(
    client: Client,
    channel_id: int,
    channel: str,
    start_ms: int,
    end_ms: int,
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    params: MomentParams = DEFAULT_PARAMS,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildReport:
    """Recompute ``[start_ms, end_ms)`` (widened to whole minutes) of one channel, chunk by chunk
    (only chunks with data, see :func:`chunks_with_data`); ``progress(done, total)`` hears each chunk."""
    lo, hi = start_ms - start_ms % MINUTE_MS, -(-end_ms // MINUTE_MS) * MINUTE_MS
    report = RebuildReport()
    found: dict[int, MomentRow] = {}
    chunks = chunks_with_data(client, channel_id, lo, hi)
    for done, chunk in enumerate(chunks, 1):
        at, stop = max(chunk, lo), min(chunk + CHUNK_MS, hi)
        existing = [
            (int(step), int(ms))
            for step, ms in client.query(
                _EXISTING_SQL, parameters={"cid": channel_id, "lo": at, "hi": stop}
            ).result_rows
        ]
        rows = recompute(client, channel_id, channel, at, stop, config, existing=existing)
        if rows:
            write_stats(client, rows)
        report.windows += len(rows)
        report.emptied += sum(1 for r in rows if is_empty(r))
        # Moments starting in this chunk (and around it) are re-detected over the rows just written.
        moments = {m.start: m for m in refresh_moments(client, channel_id, channel, at, stop, params)}
        found.update((s, m) for s, m in moments.items() if at <= s < stop)
        if progress is not None:
            progress(done, len(chunks))
    report.moments = sum(1 for m in found.values() if not m.is_deleted)
    return report


def is_empty(row: StatsRow) -> bool:
    """True for the all-zero row of a window that has no data any more (every :data:`DATA_COUNTS` 0)."""
    return not any(getattr(row, count) for count in DATA_COUNTS)
