"""Readers for the analyst's domain tools: a recap of a time range, chat activity over time, the
best hours to stream, games and titles against engagement, and chatters returning across sessions.

Every reader takes one channel and an optional ``[start_ms, end_ms)`` range, reads with FINAL (so
duplicates count once) and binds every value as a parameter. Hours are UTC. "Sessions" are the
``streams`` rows of the channel; a channel without any (chat captured without Helix/EventSub, like
the demo recording) falls back to UTC days, and the answer says which it used.
"""

from __future__ import annotations

from typing import Any

from streamscope.warehouse.shared import Warehouse

_RANGE = (
    " AND {col} >= fromUnixTimestamp64Milli({{lo:Int64}}, 'UTC')"
    " AND {col} < fromUnixTimestamp64Milli({{hi:Int64}}, 'UTC')"
)
_MAX_MS = 10_413_792_000_000  # 2300-01-01
# Epoch ms of the start of the {step:UInt32}-second bucket of a time column.
_BUCKET = "toInt64(toUnixTimestamp(toStartOfInterval({col}, toIntervalSecond({{step:UInt32}})))) * 1000"


def _params(channel_id: int, start_ms: int | None, end_ms: int | None) -> dict[str, Any]:
    return {"cid": channel_id, "lo": start_ms or 0, "hi": end_ms or _MAX_MS}


def _dicts(columns: list[str], rows: Any) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def recap(warehouse: Warehouse, channel_id: int, start_ms: int | None, end_ms: int | None) -> dict[str, Any]:
    """Totals of chat and chat events in the range, the busiest minute and the top 5 chatters."""
    p = _params(channel_id, start_ms, end_ms)
    m_range, e_range = _RANGE.format(col="sent_at"), _RANGE.format(col="at")
    totals = warehouse.rows(
        "SELECT count(), uniqExact(user_id), countIf(is_action), sum(bits),"
        " toUnixTimestamp64Milli(min(sent_at)), toUnixTimestamp64Milli(max(sent_at))"
        f" FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}}{m_range}",
        p,
    )[0]
    kinds = warehouse.rows(
        f"SELECT kind, count() FROM chat_events FINAL WHERE channel_id = {{cid:UInt64}}{e_range}"
        " AND kind IN ('sub', 'resub', 'subgift', 'raid', 'timeout', 'ban', 'delete', 'clear')"
        " GROUP BY kind ORDER BY kind",
        p,
    )
    busiest = warehouse.rows(
        "SELECT toInt64(toUnixTimestamp(toStartOfMinute(sent_at))) * 1000 AS minute, count() AS n"
        f" FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}}{m_range}"
        " GROUP BY minute ORDER BY n DESC, minute LIMIT 1",
        p,
    )
    top = warehouse.rows(
        "SELECT argMax(user_login, sent_at) AS login, count() AS n"
        f" FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}}{m_range}"
        " GROUP BY user_id ORDER BY n DESC, login LIMIT 5",
        p,
    )
    messages = int(totals[0])
    return {
        "messages": messages,
        "unique_chatters": int(totals[1]),
        "actions": int(totals[2]),
        "bits": int(totals[3]),
        "first_message_at": int(totals[4]) if messages else None,
        "last_message_at": int(totals[5]) if messages else None,
        "events": {str(k): int(n) for k, n in kinds},
        "busiest_minute": {"at": int(busiest[0][0]), "messages": int(busiest[0][1])} if busiest else None,
        "top_chatters": [{"login": str(login), "messages": int(n)} for login, n in top],
    }


def activity(
    warehouse: Warehouse, channel_id: int, start_ms: int | None, end_ms: int | None, step_s: int
) -> list[dict[str, Any]]:
    """Messages, distinct chatters and timeouts/bans per ``step_s`` bucket with chat, oldest first
    (at most 1,000 buckets: the caller picks a step that fits)."""
    p = {**_params(channel_id, start_ms, end_ms), "step": step_s}
    rows = warehouse.rows(
        "SELECT b, messages, chatters, ifNull(moderation, 0) FROM ("
        f" SELECT {_BUCKET.format(col='sent_at')} AS b,"
        " count() AS messages, uniqExact(user_id) AS chatters FROM chat_messages FINAL"
        f" WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='sent_at')} GROUP BY b"
        ") AS m LEFT JOIN ("
        f" SELECT {_BUCKET.format(col='at')} AS b,"
        " count() AS moderation FROM chat_events FINAL"
        f" WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='at')} AND kind IN ('timeout', 'ban')"
        " GROUP BY b) AS e USING (b) ORDER BY b LIMIT 1001 SETTINGS join_use_nulls = 1",
        p,
    )
    return _dicts(["at", "messages", "chatters", "timeouts_and_bans"], rows)


def best_time_slots(
    warehouse: Warehouse, channel_id: int, start_ms: int | None, end_ms: int | None
) -> list[dict[str, Any]]:
    """Per UTC hour of day with chat: messages per active minute, chatters per active minute,
    active minutes, and average viewers when Helix samples exist (else null); busiest first."""
    p = _params(channel_id, start_ms, end_ms)
    rows = warehouse.rows(
        "SELECT hour, round(sum(n) / count(), 2) AS messages_per_minute,"
        " round(sum(c) / count(), 2) AS chatters_per_minute, count() AS active_minutes,"
        " any(v.avg_viewers) AS avg_viewers FROM ("
        "  SELECT toStartOfMinute(sent_at) AS minute, toHour(minute) AS hour, count() AS n,"
        "  uniqExact(user_id) AS c FROM chat_messages FINAL"
        f"  WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='sent_at')} GROUP BY minute"
        ") AS m LEFT JOIN ("
        "  SELECT toHour(sampled_at) AS hour, round(avg(viewers), 1) AS avg_viewers FROM viewer_samples FINAL"
        f"  WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='sampled_at')} GROUP BY hour"
        ") AS v USING (hour) GROUP BY hour ORDER BY messages_per_minute DESC, hour"
        " SETTINGS join_use_nulls = 1",
        p,
    )
    return _dicts(
        ["hour_utc", "messages_per_minute", "chatters_per_minute", "active_minutes", "avg_viewers"], rows
    )


def games_and_titles(
    warehouse: Warehouse, channel_id: int, start_ms: int | None, end_ms: int | None
) -> list[dict[str, Any]]:
    """Per (game, title) seen in the Helix samples: sampled minutes, average and peak viewers, and
    chat messages and chatters per sampled minute; by average viewers. Empty without samples."""
    p = _params(channel_id, start_ms, end_ms)
    rows = warehouse.rows(
        "SELECT game, title, count() AS minutes, round(avg(viewers), 1) AS avg_viewers,"
        " max(viewers) AS peak_viewers, round(sum(ifNull(n, 0)) / count(), 2) AS messages_per_minute,"
        " round(sum(ifNull(c, 0)) / count(), 2) AS chatters_per_minute FROM ("
        "  SELECT toStartOfMinute(sampled_at) AS minute, argMax(game, sampled_at) AS game,"
        "  argMax(title, sampled_at) AS title, max(viewers) AS viewers FROM viewer_samples FINAL"
        f"  WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='sampled_at')} GROUP BY minute"
        ") AS s LEFT JOIN ("
        "  SELECT toStartOfMinute(sent_at) AS minute, count() AS n, uniqExact(user_id) AS c"
        f"  FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='sent_at')}"
        "  GROUP BY minute"
        ") AS m USING (minute) GROUP BY game, title ORDER BY avg_viewers DESC, game, title LIMIT 100"
        " SETTINGS join_use_nulls = 1",
        p,
    )
    return _dicts(
        [
            "game",
            "title",
            "minutes",
            "avg_viewers",
            "peak_viewers",
            "messages_per_minute",
            "chatters_per_minute",
        ],
        rows,
    )


def returning_chatters(
    warehouse: Warehouse, channel_id: int, start_ms: int | None, end_ms: int | None
) -> dict[str, Any]:
    """Per session (``streams`` rows, else UTC days), oldest first: chatters, how many had chatted in
    an earlier session of the range (returning) and how many had not (new)."""
    p = _params(channel_id, start_ms, end_ms)
    sessions = warehouse.rows(
        "SELECT stream_id, toUnixTimestamp64Milli(started_at),"
        " toUnixTimestamp64Milli(ifNull(ended_at, now64(3))) FROM streams FINAL"
        f" WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='started_at')} ORDER BY started_at LIMIT 1000",
        p,
    )
    if sessions:
        p.update(
            ids=[str(s[0]) for s in sessions],
            starts=[int(s[1]) for s in sessions],
            ends=[int(s[2]) for s in sessions],
        )
        session_of = (
            "{ids:Array(String)}[arrayFirstIndex((s, e) -> toUnixTimestamp64Milli(sent_at) >= s"
            " AND toUnixTimestamp64Milli(sent_at) < e, {starts:Array(Int64)}, {ends:Array(Int64)})]"
        )
        keep = "session != ''"
        kind = "streams"
    else:
        session_of = "toString(toDate(sent_at))"
        keep = "1"
        kind = "utc_days"
    rows = warehouse.rows(
        "SELECT session, min(t) AS first, uniqExact(user_id) AS chatters,"
        " uniqExactIf(user_id, first_seen < session_start) AS returning FROM ("
        f"  SELECT {session_of} AS session, toUnixTimestamp64Milli(sent_at) AS t, user_id,"
        "  min(t) OVER (PARTITION BY session) AS session_start,"
        "  min(t) OVER (PARTITION BY user_id) AS first_seen FROM chat_messages FINAL"
        f"  WHERE channel_id = {{cid:UInt64}}{_RANGE.format(col='sent_at')}"
        f") WHERE {keep} GROUP BY session ORDER BY first LIMIT 1000",
        p,
    )
    return {
        "sessions_are": kind,
        "sessions": [
            {
                "session": str(s),
                "first_message_at": int(t),
                "chatters": int(c),
                "returning": int(r),
                "new": int(c) - int(r),
            }
            for s, t, c, r in rows
        ],
    }
