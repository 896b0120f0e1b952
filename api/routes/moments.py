"""``/v1/channels/{channel}/moments``: hype moments, clip candidates (HTTP over
:mod:`streamscope.query.moments`; the detector is :mod:`streamscope.sinks.moments`)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.api.routes.channels import ChannelParam, CursorParam, EndParam, StartParam
from streamscope.api.routes.stats import EmoteCount
from streamscope.query import cursor as cursors
from streamscope.query import moments as reader
from streamscope.query.channels import resolve
from streamscope.query.params import time_range

router = APIRouter(prefix="/v1/channels", tags=["stats"])


class MomentModel(BaseModel):
    id: str = Field(description="`<channel id>-<start ms>`.")
    start: int = Field(description="Start of the first 10-second window of the burst, Unix epoch ms.")
    end: int = Field(description="End (exclusive) of the last 10-second window of the burst, Unix epoch ms.")
    peak: int = Field(description="Start of the 10-second window with the most messages, Unix epoch ms.")
    peak_rate: float = Field(description="Messages per minute in the peak window.")
    baseline_rate: float = Field(
        description="The channel's rolling baseline before the burst, messages per minute."
    )
    score: float = Field(
        description="peak_rate / max(baseline_rate, 6) x (1 + emote concentration); higher is stronger."
    )
    chatters: int = Field(description="Distinct users who chatted during the moment.")
    top_emotes: list[EmoteCount] = Field(description="The 10 most used emotes during the moment.")
    samples: list[dict[str, Any]] = Field(
        description="A few messages of the peak window, as the items of /v1/channels/{channel}/messages."
    )
    stream_id: str | None = Field(description="The stream session the moment started in; null outside one.")
    transcript: list[dict[str, Any]] = Field(
        description="Transcript segments around the peak (30 s each side) when transcripts exist; else empty."
    )


class MomentsPage(BaseModel):
    moments: list[MomentModel] = Field(description="Moments oldest first.")
    cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


@router.get(
    "/{channel}/moments",
    response_model=MomentsPage,
    summary="Hype moments of a channel",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_moments(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Moments per page, 1..100.")] = 20,
) -> Response:
    """Bursts of chat against the channel's own rolling baseline (README "Hype moments") that
    started in ``[start, end)``, oldest first, keyset-paginated by start."""
    start_ms, end_ms = time_range(start, end)
    position = cursors.decode(reader.CURSOR_SCOPE, cursor) if cursor is not None else None
    found = resolve(warehouse, channel)
    page = reader.moments_page(warehouse, found.id, start_ms, end_ms, position, limit)
    return Response(
        orjson.dumps({"moments": page.moments, "cursor": page.cursor}), media_type="application/json"
    )
