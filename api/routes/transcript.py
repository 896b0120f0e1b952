"""``/v1/channels/{channel}/transcript`` and ``/streams/{stream_id}/transcript``: what the streamer
said (HTTP over :mod:`streamscope.query.transcripts`; the segments come from the transcripts
dataflow, ``streamscope transcribe`` or ``up --transcribe``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.api.routes.channels import ChannelParam, CursorParam, EndParam, StartParam
from streamscope.query import cursor as cursors
from streamscope.query import streams as stream_reader
from streamscope.query import transcripts as reader
from streamscope.query.channels import resolve
from streamscope.query.params import time_range

router = APIRouter(prefix="/v1/channels", tags=["transcript"])


class Word(BaseModel):
    word: str
    start: int = Field(description="Unix epoch ms.")
    end: int = Field(description="Unix epoch ms.")
    probability: float = Field(description="The model's confidence in the word, 0..1.")


class TranscriptSegment(BaseModel):
    id: str = Field(description="Stable segment id (derived from channel and start time).")
    start: int = Field(description="When the speech started, Unix epoch ms (absolute stream time).")
    end: int = Field(description="When it ended, Unix epoch ms.")
    text: str
    stream_id: str | None = Field(description="The stream session it falls in; null when none is known.")
    words: list[Word] = Field(description="Per-word times (empty when word timestamps were off).")
    avg_logprob: float = Field(description="Average log probability of the segment's tokens.")
    no_speech_prob: float = Field(description="The model's probability that the segment is not speech.")
    language: str = Field(description="Language code the model used (en, de, ...).")


class TranscriptPage(BaseModel):
    segments: list[TranscriptSegment] = Field(description="Segments oldest first.")
    cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


QParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="Only segments whose text contains this, case-insensitively (ASCII letters).",
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=1000, description="Segments per page, 1..1000.")]


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/{channel}/transcript",
    response_model=TranscriptPage,
    summary="What the streamer said",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_transcript(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    q: QParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
) -> Response:
    """Transcript segments that start in ``[start, end)``, oldest first, keyset-paginated by
    (start, id). Audio that was not transcribed is recorded in ``transcript_gaps`` (SQL)."""
    start_ms, end_ms = time_range(start, end)
    position = cursors.decode(reader.CURSOR_SCOPE, cursor) if cursor is not None else None
    found = resolve(warehouse, channel)
    page = reader.transcript_page(
        warehouse, found.id, start_ms, end_ms, q, position, limit, login=found.login
    )
    return _json({"segments": page.segments, "cursor": page.cursor})


@router.get(
    "/{channel}/streams/{stream_id}/transcript",
    response_model=TranscriptPage,
    summary="What the streamer said during one stream session",
    responses={
        400: {"description": "Bad parameter"},
        404: {"description": "Unknown channel or stream"},
    },
)
def stream_transcript(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    stream_id: Annotated[str, Path(max_length=64, description="Twitch's stream id.")],
    q: QParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
) -> Response:
    """The transcript of the session from its start to its end (now while live), oldest first,
    keyset-paginated like ``/transcript``."""
    position = cursors.decode(reader.CURSOR_SCOPE, cursor) if cursor is not None else None
    found = resolve(warehouse, channel)
    session = stream_reader.session(warehouse, found.id, found.login, stream_id)
    end_ms = session["ended_at"] + 1 if session["ended_at"] is not None else None
    page = reader.transcript_page(
        warehouse, found.id, session["started_at"], end_ms, q, position, limit, login=found.login
    )
    return _json({"segments": page.segments, "cursor": page.cursor})
