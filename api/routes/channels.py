"""``/v1/channels``: the channels captured, and each channel's messages and events (HTTP over the
readers :mod:`streamscope.query.channels`, :mod:`~streamscope.query.messages` and
:mod:`~streamscope.query.events`).

``{channel}`` is a numeric Twitch id (ASCII digits) or a login, resolved through the ``channels``
table; an unknown channel is a 404, a value that is neither a 400. ``user`` filters likewise take an
id or a login (:func:`streamscope.query.params.id_or_login`).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from streamscope.api.deps import WarehouseDep
from streamscope.query import cursor as cursors
from streamscope.query import events as event_reader
from streamscope.query import messages as message_reader
from streamscope.query.channels import list_channels as channel_summaries
from streamscope.query.channels import resolve
from streamscope.query.errors import BadParameter
from streamscope.query.params import time_range, user_filter

router = APIRouter(prefix="/v1/channels", tags=["channels"])


class ChannelInfo(BaseModel):
    id: int = Field(description="Twitch user id of the channel (room-id).")
    login: str = Field(description="Current login (the newest seen).")
    first_seen: int = Field(description="First time anything was captured, Unix epoch ms.")
    last_seen: int = Field(description="Last time anything was captured, Unix epoch ms.")
    messages: int = Field(description="Chat messages stored (duplicates counted once).")


class ChannelList(BaseModel):
    channels: list[ChannelInfo]


class MessagesPage(BaseModel):
    cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    messages: list[dict[str, Any]] = Field(
        description="Message objects oldest first: id, text, is_me, bits, sent_timestamp, "
        "received_timestamp, reply_parent_*, reply_thread_parent_*, emotes [{id, start, end, text}], "
        "room {id, login}, user {id, login, display_name, color, badges, badge_info, is_mod, "
        "is_subscriber, is_vip, is_first_message, ...}, source_room_id, source_message_id, flags, and "
        "moderation marks deleted, timed_out, banned, cleared, moderation [{kind, at, duration_s}]."
    )


class EventsPage(BaseModel):
    cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    events: list[dict[str, Any]] = Field(
        description="Events oldest first: id, kind, command, at (ms), user {id, login, display_name} "
        "(who acted), target {id, login, message_id} (who/what was moderated), duration_s (timeouts), "
        "text, system_message, msg_params (msg-param-* tags without the prefix)."
    )


ChannelParam = Annotated[
    str,
    Path(
        description="Channel login (`xqcow`: 1-25 of a-z, 0-9, _, any case) "
        "or numeric Twitch id (`71092938`)."
    ),
]
StartParam = Annotated[
    str | None, Query(description="Inclusive lower time bound, ISO 8601 (no offset means UTC).")
]
EndParam = Annotated[
    str | None, Query(description="Exclusive upper time bound, ISO 8601; must be after `start`.")
]
UserParam = Annotated[
    str | None,
    Query(description="Only this user: numeric Twitch user id (ASCII digits) or login (case-insensitive)."),
]
CursorParam = Annotated[
    str | None, Query(description="Opaque cursor from the previous page of the same endpoint.")
]


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("", response_model=ChannelList, summary="Channels captured")
def list_channels(warehouse: WarehouseDep) -> Response:
    """Every channel anything was captured from, by login, with its message count."""
    return _json({"channels": [c._asdict() for c in channel_summaries(warehouse)]})


@router.get(
    "/{channel}/messages",
    response_model=MessagesPage,
    summary="Chat messages of a channel",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_messages(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    user: UserParam = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full-text filter. One word matches whole words, ASCII case-insensitively "
            "(`pogchamp` finds `PogChamp` but not `PogChamps`). Several words or punctuation: every "
            "word must occur as a whole word and the exact phrase must occur (case-insensitive).",
        ),
    ] = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Messages per page, 1..1000.")] = 100,
) -> Response:
    """Messages oldest first, filtered, keyset-paginated; each with its moderation marks."""
    start_ms, end_ms = time_range(start, end)
    who = user_filter(user)
    position = cursors.decode(message_reader.CURSOR_SCOPE, cursor) if cursor is not None else None
    if q is not None and not q.strip():
        raise BadParameter("q", "must contain something other than spaces")
    found = resolve(warehouse, channel)
    page = message_reader.fetch_page(
        warehouse,
        message_reader.MessageQuery(
            found.id, start_ms, end_ms, position, who.user_id, who.user_login, q.strip() if q else None
        ),
        limit,
    )
    return _json({"cursor": page.cursor, "messages": page.messages})


@router.get(
    "/{channel}/events",
    response_model=EventsPage,
    summary="Moderation, subs, raids and other chat events of a channel",
    responses={400: {"description": "Bad parameter"}, 404: {"description": "Unknown channel"}},
)
def channel_events(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    start: StartParam = None,
    end: EndParam = None,
    kind: Annotated[
        str | None,
        Query(
            description="Comma-separated kinds: timeout, ban, clear (CLEARCHAT), delete (CLEARMSG), a "
            "USERNOTICE msg-id (sub, resub, subgift, raid, announcement, ...) or a command "
            "(ROOMSTATE, NOTICE, ...). An unknown kind is a 400.",
            examples=["timeout,ban"],
        ),
    ] = None,
    user: Annotated[
        str | None,
        Query(description="Only events this user did or was the target of: numeric id or login."),
    ] = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page, 1..1000.")] = 100,
) -> Response:
    """Events oldest first, filtered, keyset-paginated by (at, event id)."""
    start_ms, end_ms = time_range(start, end)
    who = user_filter(user)
    position = cursors.decode(event_reader.CURSOR_SCOPE, cursor) if cursor is not None else None
    kinds = event_reader.parse_kinds(warehouse, kind)
    found = resolve(warehouse, channel)
    page = event_reader.fetch_events(
        warehouse,
        event_reader.EventQuery(found.id, start_ms, end_ms, position, kinds, who.user_id, who.user_login),
        limit,
    )
    return _json({"cursor": page.cursor, "events": page.events})
