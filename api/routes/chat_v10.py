"""``GET /v1.0/{broadcaster_id}/chat``: the seed "Twitch Chat Ingestor" contract, kept exactly.

Each item carries the full message object serialised as a JSON *string* (``message``), in the seed's
shape (:func:`streamscope.query.render.seed_message_object`, documented here by :class:`ChatMessage`
as the string's ``contentSchema``); ``/v1/channels/{channel}/messages`` has a richer shape of its own.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.query import cursor as cursors
from streamscope.query.channels import by_id
from streamscope.query.messages import CURSOR_SCOPE, MessageQuery, fetch_page
from streamscope.query.params import time_range

router = APIRouter(tags=["chat (v1.0)"])


class EmotePosition(BaseModel):
    start_position: str = Field(description="First code point of the emote in `text` (0-based).")
    end_position: str = Field(description="Last code point of the emote in `text` (inclusive).")


class ChatRoom(BaseModel):
    """The chat modes in force when the message was sent (the channel's ROOMSTATEs up to then)."""

    name: str = Field(description="The channel's login.")
    is_emote_only: bool
    is_subs_only: bool
    is_followers_only: bool
    is_unique_only: bool = Field(description="r9k mode.")
    follower_only_delay: int = Field(description="Minutes a follower must have followed (0 when off).")
    room_id: str = Field(description="The channel's Twitch user id.")
    slow: int = Field(description="Seconds between a user's messages (0 when off).")


class ChatUser(BaseModel):
    name: str = Field(description="The author's login.")
    badge_info: dict[str, str] | None = Field(description="`badge-info` as {badge: detail}, e.g. months.")
    badges: dict[str, str] = Field(description="Badges shown, as {badge: version}.")
    color: str | None
    display_name: str | None
    mod: bool
    subscriber: bool
    turbo: bool
    id: str = Field(description="The author's Twitch user id.")
    user_type: str | None = Field(description="`mod`, `admin`, `global_mod`, `staff`; null for none.")
    vip: bool


class ModerationAction(BaseModel):
    kind: str = Field(description="delete, timeout, ban or clear.")
    at: int = Field(description="Unix epoch ms.")
    duration_s: int | None = Field(description="Timeouts only.")


class ChatMessage(BaseModel):
    """The seed's message object (the keys up to `user`), then this API's additions."""

    text: str = Field(description="Without the /me wrapper (`is_me`).")
    is_me: bool
    bits: int
    sent_timestamp: int = Field(description="tmi-sent-ts, Unix epoch ms.")
    reply_parent_msg_id: str | None
    reply_parent_user_id: str | None
    reply_parent_user_login: str | None
    reply_parent_display_name: str | None
    reply_parent_msg_body: str | None = Field(
        description="The parent's text, unescaped (the seed served the raw IRC tag value, `\\s` for spaces)."
    )
    reply_thread_parent_msg_id: str | None
    reply_thread_parent_user_login: str | None
    emotes: dict[str, list[EmotePosition]] | None = Field(description="{emote id: positions}; null for none.")
    id: str = Field(description="Twitch's message id.")
    room: ChatRoom
    user: ChatUser
    source_room_id: str | None = Field(description="Shared chat: the channel it was sent in.")
    source_message_id: str | None = Field(description="Shared chat: its id there.")
    flags: str | None = Field(description="AutoMod flags tag, as sent.")
    deleted: bool = Field(description="A CLEARMSG removed it.")
    timed_out: bool = Field(description="The first CLEARCHAT against its author at or after it: a timeout.")
    banned: bool = Field(description="The first CLEARCHAT against its author at or after it: a ban.")
    cleared: bool = Field(description="A channel-wide clear followed it.")
    moderation: list[ModerationAction] = Field(description="The actions behind the marks, oldest first.")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` references replaced by the definitions (a ``contentSchema`` is
    not a document root, so ``#/$defs/...`` would not resolve from inside it)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)  # type: ignore[no-any-return]


class ChatItem(BaseModel):
    broadcaster_id: int = Field(description="The channel's Twitch user id (room-id).")
    message: str = Field(
        description="The message object as a JSON string, in the seed's shape (its schema is this "
        "string's `contentSchema`): text, is_me, bits, sent_timestamp, reply_parent_* and "
        "reply_thread_parent_* (null when not a reply), emotes ({id: [{start_position, end_position}]} "
        "or null), id, room (the chat modes in force when it was sent), user {name, badge_info, badges, "
        "color, display_name, mod, subscriber, turbo, id, user_type, vip}; then source_room_id, "
        "source_message_id, flags and the moderation marks deleted/timed_out/banned/cleared/moderation.",
        json_schema_extra={
            "contentMediaType": "application/json",
            "contentSchema": _inline(ChatMessage.model_json_schema()),
        },
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
    query = MessageQuery(broadcaster_id, start_ms, end_ms, after=position)
    page = fetch_page(warehouse, query, limit, shape="seed")
    if not page.messages:
        # Only an empty page can come from a channel never captured (a 404); a page with messages
        # needs no lookup of its own.
        by_id(warehouse, broadcaster_id)
    body = {
        "cursor": page.cursor,
        "messages": [
            {
                "broadcaster_id": broadcaster_id,
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
