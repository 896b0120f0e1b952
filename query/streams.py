"""The viewers and streams readers: viewer counts over time and stream sessions of one channel.

Viewers come from ``viewer_samples`` (Helix polls), bucketed by ``step``. Sessions come from
``streams`` (newest row per session under FINAL); each carries its chat activity, linked at read
time: the messages of the channel with ``started_at <= sent_at < ended_at`` (``now`` while live).
Sessions are paged by start time (keyset: one channel's sessions never start in the same
millisecond), newest first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from streamscope.query import cursor as cursors
from streamscope.query.errors import BadParameter, NotFound
from streamscope.warehouse.shared import Warehouse

CURSOR_SCOPE = "streams"
MAX_POINTS = 10_000
_STEP = re.compile(r"^(\d{1,7})([smhd]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MIN_STEP_S, _MAX_STEP_S = 10, 31 * 86400

# In SessionRow order.
_SESSION_COLUMNS = """
    stream_id, toUnixTimestamp64Milli(started_at) AS started, toUnixTimestamp64Milli(ended_at) AS ended,
    end_reason, peak_viewers, viewer_sum, samples,
    arrayMap(s -> (toUnixTimestamp64Milli(s.1), s.2, s.3, s.4), segments) AS segs
"""


class ViewerBucket(NamedTuple):
    """One ``step`` bucket of viewer samples (``at``: its start, epoch ms)."""

    at: int
    avg: float
    max: int
    samples: int


class SessionRow(NamedTuple):
    """A ``streams`` row as read: times in epoch ms (``ended`` None while live), segments as
    ``(at ms, title, game_id, game)``."""

    stream_id: str
    started: int
    ended: int | None
    end_reason: str
    peak_viewers: int
    viewer_sum: int
    samples: int
    segments: list[tuple[int, str, str, str]]


@dataclass(frozen=True, slots=True)
class SessionPage:
    """Session objects newest first (see :func:`session_objects`) and the next page's cursor."""

    streams: list[dict[str, Any]]
    cursor: str | None


def parse_step(value: str) -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` or plain seconds → seconds in [10 s, 31 d]; else a
    :class:`BadParameter`."""
    m = _STEP.match(value.strip().lower())
    if not m:
        raise BadParameter("step", f"{value[:20]!r} is not a duration such as 30s, 5m, 1h, 1d")
    seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    if not _MIN_STEP_S <= seconds <= _MAX_STEP_S:
        raise BadParameter("step", f"must be between {_MIN_STEP_S}s and 31d")
    return seconds


def check_span(start_ms: int | None, end_ms: int | None, step_s: int) -> None:
    """A :class:`BadParameter` on ``step`` when ``[start_ms, end_ms)`` holds more than
    :data:`MAX_POINTS` buckets (callers check before they look anything up)."""
    if start_ms is not None and end_ms is not None and (end_ms - start_ms) / 1000 / step_s > MAX_POINTS:
        raise BadParameter("step", f"start..end would give more than {MAX_POINTS} buckets; use a larger step")


def viewer_buckets(
    warehouse: Warehouse, channel_id: int, start_ms: int | None, end_ms: int | None, step_s: int
) -> list[ViewerBucket]:
    """Average and peak viewers per ``step_s`` bucket that has samples, oldest first; more than
    :data:`MAX_POINTS` buckets is a :class:`BadParameter` on ``step``."""
    check_span(start_ms, end_ms, step_s)
    params: dict[str, Any] = {"cid": channel_id, "step": step_s}
    where = ["channel_id = {cid:UInt64}"] + cursors.keyset_conditions(
        "sampled_at", "stream_id", start_ms, end_ms, None, params
    )
    rows = warehouse.rows(
        "SELECT toInt64(toUnixTimestamp(toStartOfInterval(sampled_at, toIntervalSecond({step:UInt32}))))"
        " * 1000 AS b, avg(viewers), max(viewers), count() FROM viewer_samples FINAL"
        f" WHERE {' AND '.join(where)} GROUP BY b ORDER BY b LIMIT {MAX_POINTS + 1}",
        params,
    )
    if len(rows) > MAX_POINTS:
        raise BadParameter("step", f"more than {MAX_POINTS} buckets; narrow start/end or use a larger step")
    return [ViewerBucket(int(r[0]), round(float(r[1]), 3), int(r[2]), int(r[3])) for r in rows]


def _chat_activity(
    warehouse: Warehouse, cid: int, spans: list[tuple[int, int]]
) -> dict[int, tuple[int, int]]:
    """index into ``spans`` → (messages, unique chatters), in one read of the channel's time range."""
    if not spans:
        return {}
    rows = warehouse.rows(
        """
        SELECT arrayFirstIndex((s, e) -> t >= s AND t < e, {starts:Array(Int64)}, {ends:Array(Int64)}) AS idx,
               count(), uniqExact(user_id)
        FROM (SELECT toUnixTimestamp64Milli(sent_at) AS t, user_id FROM chat_messages FINAL
              WHERE channel_id = {cid:UInt64}
                AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
                AND sent_at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC'))
        GROUP BY idx HAVING idx > 0
        """,
        {
            "cid": cid,
            "starts": [s for s, _ in spans],
            "ends": [e for _, e in spans],
            "lo": min(s for s, _ in spans),
            "hi": max(e for _, e in spans),
        },
    )
    return {int(r[0]) - 1: (int(r[1]), int(r[2])) for r in rows}


def session_objects(warehouse: Warehouse, cid: int, rows: Sequence[SessionRow]) -> list[dict[str, Any]]:
    """The session objects of ``rows`` (all of channel ``cid``) with their chat activity: id,
    started_at, ended_at, end_reason, live, duration_s, peak_viewers, avg_viewers, samples,
    messages, unique_chatters, segments [{at, title, game_id, game}]."""
    now_ms = int(time.time() * 1000)
    spans = [(r.started, r.ended if r.ended is not None else now_ms) for r in rows]
    activity = _chat_activity(warehouse, cid, spans)
    out = []
    for i, r in enumerate(rows):
        samples = int(r.samples)
        messages, chatters = activity.get(i, (0, 0))
        out.append(
            {
                "id": r.stream_id,
                "started_at": r.started,
                "ended_at": r.ended,
                "end_reason": r.end_reason,
                "live": r.ended is None,
                "duration_s": round((spans[i][1] - r.started) / 1000, 3),
                "peak_viewers": int(r.peak_viewers) if samples else None,
                "avg_viewers": round(int(r.viewer_sum) / samples, 3) if samples else None,
                "samples": samples,
                "messages": messages,
                "unique_chatters": chatters,
                "segments": [{"at": s[0], "title": s[1], "game_id": s[2], "game": s[3]} for s in r.segments],
            }
        )
    return out


def session_page(
    warehouse: Warehouse,
    channel_id: int,
    start_ms: int | None,
    end_ms: int | None,
    before: cursors.Position | None,
    limit: int,
) -> SessionPage:
    """Sessions that started in ``[start_ms, end_ms)`` and before the cursor position ``before``,
    newest first, at most ``limit``."""
    params: dict[str, Any] = {"cid": channel_id, "limit": limit + 1}
    where = ["channel_id = {cid:UInt64}"] + cursors.keyset_conditions(
        "started_at", "stream_id", start_ms, end_ms, None, params
    )
    if before is not None:
        params["before"] = before.ts_ms
        where.append("started_at < fromUnixTimestamp64Milli({before:Int64}, 'UTC')")
    rows = [
        SessionRow._make(r)
        for r in warehouse.rows(
            f"SELECT {_SESSION_COLUMNS} FROM streams FINAL WHERE {' AND '.join(where)}"
            " ORDER BY started_at DESC LIMIT {limit:UInt32}",
            params,
        )
    ]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursors.encode(CURSOR_SCOPE, rows[-1].started, "00000000-0000-0000-0000-000000000000")
    return SessionPage(session_objects(warehouse, channel_id, rows), next_cursor)


def session(warehouse: Warehouse, channel_id: int, login: str, stream_id: str) -> dict[str, Any]:
    """One session of the channel, or a :class:`NotFound` ``unknown_stream``."""
    rows = [
        SessionRow._make(r)
        for r in warehouse.rows(
            f"SELECT {_SESSION_COLUMNS} FROM streams FINAL"
            " WHERE channel_id = {cid:UInt64} AND stream_id = {sid:String}",
            {"cid": channel_id, "sid": stream_id},
        )
    ]
    if not rows:
        raise NotFound("unknown_stream", f"no stream {stream_id[:64]!r} of channel {login!r}")
    return session_objects(warehouse, channel_id, rows)[0]
