"""``GET /v1.0/{broadcaster_id}/chat``: the seed "Twitch Chat Ingestor" contract, kept exactly.

Each item carries the full message object serialised as a JSON *string* (``message``), as the seed
did; ``/v1/channels/{channel}/messages`` returns the same objects unserialised (both from
:mod:`streamscope.query.messages`).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.query import cursor as cursors
from streamscope.query.channels import by_id
from streamscope.query.messages import CURSOR_SCOPE, MessageQuery, fetch_page
from streamscope.query.params import time_range

router = APIRouter(tags=["chat (v1.0)"])


class ChatItem(BaseModel):
    broadcaster_id: int = Field(description="The channel's Twitch user id (room-id).")
    message: str = Field(
        description="The full message object as a JSON string: text, is_me, bits, sent_timestamp, "
        "reply_parent_*, reply_thread_parent_*, emotes, id, room, user, and the moderation marks "
        "deleted/timed_out/banned/cleared/moderation (see /v1/channels/{channel}/messages)."
    )
    message_id: str = Field(description="Twitch's message id (UUID).")
    timestamp: int = Field(description="When Twitch sent the message (tmi-sent-ts), Unix epoch ms.")


class ChatPage(BaseModel):
    cursor: str | None = Field(
        description="Pass as `after` to get the next page; null when this page holds the last message."
    )
    messages: list[ChatItem] = Field(description="Oldest first, ordered by (timestamp, message_id).")


BroadcasterId = Annotated[
    int, Path(ge=1, le=2**64 - 1, description="The channel's numeric Twitch user id (room-id).")
]
Start = Annotated[
    str,
    Query(
        description="Inclusive lower bound on the send time, ISO 8601 (`2019-09-15T00:00:00Z`, "
        "`+02:00` offsets; no offset means UTC).",
        examples=["2019-09-15T00:00:00Z"],
    ),
]
End = Annotated[
    str,
    Query(description="Exclusive upper bound on the send time, ISO 8601; must be after `start`."),
]
After = Annotated[
    str | None,
    Query(description="Opaque cursor from a previous page's `cursor`; a modified cursor is a 400."),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Messages per page, 1..100.")]


@router.get(
    "/v1.0/{broadcaster_id}/chat",
    response_model=ChatPage,
    summary="Chat messages of a channel in a time range (seed contract)",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Channel never captured"}},
)
def chat(
    warehouse: WarehouseDep,
    broadcaster_id: BroadcasterId,
    start: Start,
    end: End,
    after: After = None,
    limit: Limit = 20,
) -> Response:
    """Messages sent in [start, end), oldest first, `limit` per page, keyset-paginated by `after`.

    Messages seen more than once are returned once. The cursor is null when fewer than `limit + 1`
    messages remained, so the last page never needs an extra empty round trip.
    """
    start_ms, end_ms = time_range(start, end)
    position = cursors.decode(CURSOR_SCOPE, after, "after") if after is not None else None
    channel = by_id(warehouse, broadcaster_id)
    page = fetch_page(warehouse, MessageQuery(channel.id, start_ms, end_ms, after=position), limit)
    body = {
        "cursor": page.cursor,
        "messages": [
            {
                "broadcaster_id": channel.id,
                "message": orjson.dumps(m).decode(),
                "message_id": m["id"],
                "timestamp": m["sent_timestamp"],
            }
            for m in page.messages
        ],
    }
    # Serialised here (orjson) rather than re-validated through ChatPage: the model documents the
    # shape, the page is built to it.
    return Response(orjson.dumps(body), media_type="application/json")
