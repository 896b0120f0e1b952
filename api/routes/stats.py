"""``/v1/channels/{channel}/stats``: chat statistics over time (HTTP over :mod:`streamscope.query.stats`,
which says how buckets aggregate the 1-minute windows of ``chat_stats``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.api.routes.channels import ChannelParam, EndParam, StartParam
from streamscope.query import stats as reader
from streamscope.query.channels import resolve
from streamscope.query.params import time_range

router = APIRouter(prefix="/v1/channels", tags=["stats"])


class EmoteCount(BaseModel):
    name: str = Field(description="Emote name as typed in chat.")
    count: int = Field(description="Uses in the bucket.")


class StatsPointModel(BaseModel):
    at: int = Field(description="Bucket start, Unix epoch ms (buckets are aligned to the epoch: UTC days).")
    messages: int = Field(description="Chat messages (each message id once).")
    chatters: int = Field(description="Distinct users who sent a message in the bucket (exact).")
    first_time_chatters: int = Field(
        description="Distinct users whose first message in the channel ever it was."
    )
    actions: int = Field(description="Messages sent with /me.")
    replies: int = Field(description="Messages replying to another message.")
    emotes: int = Field(description="Emote uses (Twitch emotes and configured third-party emote words).")
    bits: int = Field(description="Bits cheered.")
    subs: int = Field(description="new_subs + resubs + gift_subs.")
    new_subs: int = Field(description="First-time subscriptions.")
    resubs: int = Field(description="Resubscriptions announced in chat.")
    gift_subs: int = Field(description="Gifted subscriptions (one per recipient).")
    raids: int = Field(description="Incoming raids.")
    raid_viewers: int = Field(description="Viewers those raids brought.")
    timeouts: int = Field(description="Users timed out.")
    bans: int = Field(description="Users banned.")
    deletions: int = Field(description="Single messages deleted by moderators.")
    clears: int = Field(description="Whole-chat clears.")
    avg_message_length: float = Field(
        description="Average message length in characters (0 without messages)."
    )
    top_emotes: list[EmoteCount] = Field(description="The 10 most used emotes, count descending then name.")


class StatsSeries(BaseModel):
    channel: dict[str, Any] = Field(
        description="{id (the numeric Twitch id as a string), login} of the channel."
    )
    step: int = Field(description="Bucket width in seconds.")
    points: list[StatsPointModel] = Field(description="Buckets with chat, oldest first.")
    top_emotes: list[EmoteCount] = Field(
        description="The 10 most used emotes over the whole range (exact: counted over every emote, "
        "not summed from the buckets' top 10), count descending then name."
    )


@router.get(
    "/{channel}/stats",
    response_model=StatsSeries,
    summary="Chat statistics of a channel over time",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_stats(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    step: Annotated[str, Query(description="Bucket width: 1m, 5m, 1h or 1d (UTC days).")] = "1m",
) -> Response:
    """Messages, chatters, emotes, subs, bits, raids and moderation per ``step`` bucket, from the
    1-minute windows the stats dataflow computes (a bucket sums the windows starting in it and in
    ``[start, end)``; chatters are distinct over the whole bucket). Without ``start``/``end`` the
    range is the channel's first to last window. More than 10,000 buckets is a 400."""
    start_ms, end_ms = time_range(start, end)
    step_s = reader.parse_step(step)
    if start_ms is not None and end_ms is not None:
        reader.check_points(start_ms, end_ms, step_s)
    found = resolve(warehouse, channel)
    points = reader.stats_series(warehouse, found.id, start_ms, end_ms, step_s)
    top: list[tuple[str, int]] = []
    if points:
        lo = points[0].at if start_ms is None else start_ms
        hi = points[-1].at + step_s * 1000 if end_ms is None else end_ms
        top = reader.session_chat(warehouse, found.id, lo, hi).top_emotes
    body = {
        "channel": {"id": str(found.id), "login": found.login},
        "step": step_s,
        "points": [p.as_json() for p in points],
        "top_emotes": [{"name": n, "count": c} for n, c in top],
    }
    return Response(orjson.dumps(body), media_type="application/json")
