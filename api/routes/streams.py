"""``/v1/channels/{channel}/viewers`` and ``/streams``: viewer counts over time and stream sessions.

Viewers come from ``viewer_samples`` (Helix polls), bucketed by ``step``. Sessions come from
``streams`` (newest row per session under FINAL); each carries its chat activity, linked at read
time: the messages of the channel with ``started_at <= sent_at < ended_at`` (``now`` while live).
Sessions are paged by start time (keyset: one channel's sessions never start in the same
millisecond), newest first.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from streamscope.api import cursor as cursors
from streamscope.api.channels_lookup import resolve
from streamscope.api.deps import Warehouse, WarehouseDep
from streamscope.api.errors import ApiError, bad_parameter
from streamscope.api.params import time_range
from streamscope.api.routes.channels import ChannelParam, CursorParam, EndParam, StartParam

router = APIRouter(prefix="/v1/channels", tags=["streams"])

CURSOR_SCOPE = "streams"
MAX_POINTS = 10_000
_STEP = re.compile(r"^(\d{1,7})([smhd]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MIN_STEP_S, _MAX_STEP_S = 10, 31 * 86400

_SESSION_COLUMNS = """
    stream_id, toUnixTimestamp64Milli(started_at) AS started, toUnixTimestamp64Milli(ended_at) AS ended,
    end_reason, peak_viewers, viewer_sum, samples,
    arrayMap(s -> (toUnixTimestamp64Milli(s.1), s.2, s.3, s.4), segments) AS segs
"""


class ViewerPoint(BaseModel):
    at: int = Field(description="Bucket start, Unix epoch ms (buckets are aligned to the epoch).")
    avg: float = Field(description="Average viewer count of the samples in the bucket.")
    max: int = Field(description="Highest viewer count sampled in the bucket.")
    samples: int = Field(description="Helix samples in the bucket.")


class ViewerSeries(BaseModel):
    channel: dict[str, Any] = Field(description="{id, login} of the channel.")
    step: int = Field(description="Bucket width in seconds.")
    points: list[ViewerPoint] = Field(description="Buckets that have samples, oldest first.")


class Segment(BaseModel):
    at: int = Field(description="When this title/game started, Unix epoch ms.")
    title: str
    game_id: str
    game: str


class StreamSession(BaseModel):
    id: str = Field(description="Twitch's stream id.")
    started_at: int = Field(description="Unix epoch ms.")
    ended_at: int | None = Field(description="Unix epoch ms; null while live.")
    end_reason: str = Field(description="offline, vanished (left /streams), replaced, or empty while live.")
    live: bool
    duration_s: float = Field(description="Seconds from start to end (to now while live).")
    peak_viewers: int | None = Field(description="Highest viewer count sampled; null without samples.")
    avg_viewers: float | None = Field(description="Average of the viewer samples; null without samples.")
    samples: int = Field(description="Helix viewer samples taken during the session.")
    messages: int = Field(description="Chat messages sent during the session (duplicates counted once).")
    unique_chatters: int = Field(description="Distinct users who sent those messages.")
    segments: list[Segment] = Field(description="Title/game segments in time order.")


class StreamsPage(BaseModel):
    cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    streams: list[StreamSession]


def parse_step(value: str) -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` or plain seconds → seconds in [10 s, 31 d]; else a 400."""
    m = _STEP.match(value.strip().lower())
    if not m:
        raise bad_parameter("step", f"{value[:20]!r} is not a duration such as 30s, 5m, 1h, 1d")
    seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    if not _MIN_STEP_S <= seconds <= _MAX_STEP_S:
        raise bad_parameter("step", f"must be between {_MIN_STEP_S}s and 31d")
    return seconds


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/{channel}/viewers",
    response_model=ViewerSeries,
    summary="Viewer counts of a channel over time",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_viewers(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    step: Annotated[
        str, Query(description="Bucket width: 30s, 5m, 1h, 1d or seconds; 10 s to 31 days.")
    ] = "1m",
) -> Response:
    """Average and peak viewers per ``step`` bucket from the Helix samples (at most 10,000 buckets)."""
    start_ms, end_ms = time_range(start, end)
    step_s = parse_step(step)
    if start_ms is not None and end_ms is not None and (end_ms - start_ms) / 1000 / step_s > MAX_POINTS:
        raise bad_parameter(
            "step", f"start..end would give more than {MAX_POINTS} buckets; use a larger step"
        )
    found = resolve(warehouse, channel)
    params: dict[str, Any] = {"cid": found.id, "step": step_s}
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
        raise bad_parameter("step", f"more than {MAX_POINTS} buckets; narrow start/end or use a larger step")
    points = [
        {"at": int(r[0]), "avg": round(float(r[1]), 3), "max": int(r[2]), "samples": int(r[3])} for r in rows
    ]
    return _json({"channel": {"id": found.id, "login": found.login}, "step": step_s, "points": points})


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


def _sessions(warehouse: Warehouse, cid: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now_ms = int(time.time() * 1000)
    spans = [(r["started"], r["ended"] if r["ended"] is not None else now_ms) for r in rows]
    activity = _chat_activity(warehouse, cid, spans)
    out = []
    for i, r in enumerate(rows):
        samples = int(r["samples"])
        messages, chatters = activity.get(i, (0, 0))
        out.append(
            {
                "id": r["stream_id"],
                "started_at": r["started"],
                "ended_at": r["ended"],
                "end_reason": r["end_reason"],
                "live": r["ended"] is None,
                "duration_s": round((spans[i][1] - r["started"]) / 1000, 3),
                "peak_viewers": int(r["peak_viewers"]) if samples else None,
                "avg_viewers": round(int(r["viewer_sum"]) / samples, 3) if samples else None,
                "samples": samples,
                "messages": messages,
                "unique_chatters": chatters,
                "segments": [{"at": s[0], "title": s[1], "game_id": s[2], "game": s[3]} for s in r["segs"]],
            }
        )
    return out


@router.get(
    "/{channel}/streams",
    response_model=StreamsPage,
    summary="Stream sessions of a channel",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_streams(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Sessions per page, 1..100.")] = 20,
) -> Response:
    """Sessions that started in ``[start, end)``, newest first, keyset-paginated by start time."""
    start_ms, end_ms = time_range(start, end)
    position = cursors.decode(CURSOR_SCOPE, cursor) if cursor is not None else None
    found = resolve(warehouse, channel)
    params: dict[str, Any] = {"cid": found.id, "limit": limit + 1}
    where = ["channel_id = {cid:UInt64}"] + cursors.keyset_conditions(
        "started_at", "stream_id", start_ms, end_ms, None, params
    )
    if position is not None:
        params["before"] = position.ts_ms
        where.append("started_at < fromUnixTimestamp64Milli({before:Int64}, 'UTC')")
    rows = warehouse.named(
        f"SELECT {_SESSION_COLUMNS} FROM streams FINAL WHERE {' AND '.join(where)}"
        " ORDER BY started_at DESC LIMIT {limit:UInt32}",
        params,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursors.encode(
            CURSOR_SCOPE, rows[-1]["started"], "00000000-0000-0000-0000-000000000000"
        )
    return _json({"cursor": next_cursor, "streams": _sessions(warehouse, found.id, rows)})


@router.get(
    "/{channel}/streams/{stream_id}",
    response_model=StreamSession,
    summary="One stream session",
    responses={404: {"description": "Unknown channel or stream"}},
)
def channel_stream(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    stream_id: Annotated[str, Path(max_length=64, description="Twitch's stream id.")],
) -> Response:
    """One session of the channel with its viewers, chat activity and title/game segments."""
    found = resolve(warehouse, channel)
    rows = warehouse.named(
        f"SELECT {_SESSION_COLUMNS} FROM streams FINAL"
        " WHERE channel_id = {cid:UInt64} AND stream_id = {sid:String}",
        {"cid": found.id, "sid": stream_id},
    )
    if not rows:
        raise ApiError(404, "unknown_stream", f"no stream {stream_id[:64]!r} of channel {found.login!r}")
    return _json(_sessions(warehouse, found.id, rows)[0])
