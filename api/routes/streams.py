"""``/v1/channels/{channel}/viewers`` and ``/streams``: viewer counts over time and stream sessions
(HTTP over :mod:`streamscope.query.streams`, which says where they come from)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.api.routes.channels import ChannelParam, CursorParam, EndParam, StartParam
from streamscope.api.routes.stats import EmoteCount
from streamscope.query import cursor as cursors
from streamscope.query import streams as reader
from streamscope.query.channels import resolve
from streamscope.query.moments import session_detail
from streamscope.query.params import time_range

router = APIRouter(prefix="/v1/channels", tags=["streams"])


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


class MomentSummary(BaseModel):
    id: str
    start: int = Field(description="Unix epoch ms.")
    end: int = Field(description="Unix epoch ms.")
    peak: int = Field(description="Unix epoch ms.")
    peak_rate: float = Field(description="Messages per minute at the peak.")
    baseline_rate: float = Field(description="The channel's baseline before it, messages per minute.")
    score: float
    chatters: int
    top_emotes: list[EmoteCount]
    stream_id: str | None


class StreamSessionDetail(StreamSession):
    chat_rate: float = Field(
        description="Chat messages per minute over the session (from the 1-minute stats windows)."
    )
    top_emotes: list[EmoteCount] = Field(description="The 10 most used emotes of the session.")
    peak_moment: MomentSummary | None = Field(
        description="The highest-scoring hype moment of the session (see /moments); null when none."
    )


class StreamsPage(BaseModel):
    cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    streams: list[StreamSession]


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
    step_s = reader.parse_step(step)
    reader.check_span(start_ms, end_ms, step_s)
    found = resolve(warehouse, channel)
    points = reader.viewer_buckets(warehouse, found.id, start_ms, end_ms, step_s)
    return _json(
        {
            "channel": {"id": found.id, "login": found.login},
            "step": step_s,
            "points": [p._asdict() for p in points],
        }
    )


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
    position = cursors.decode(reader.CURSOR_SCOPE, cursor) if cursor is not None else None
    found = resolve(warehouse, channel)
    page = reader.session_page(warehouse, found.id, start_ms, end_ms, position, limit)
    return _json({"cursor": page.cursor, "streams": page.streams})


@router.get(
    "/{channel}/streams/{stream_id}",
    response_model=StreamSessionDetail,
    summary="One stream session",
    responses={404: {"description": "Unknown channel or stream"}},
)
def channel_stream(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    stream_id: Annotated[str, Path(max_length=64, description="Twitch's stream id.")],
) -> Response:
    """One session of the channel with its viewers, chat activity (messages, chatters, chat rate,
    top emotes, peak hype moment) and title/game segments."""
    found = resolve(warehouse, channel)
    return _json(session_detail(warehouse, found.id, found.login, stream_id))
