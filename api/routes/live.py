"""``GET /v1/channels/{channel}/live``: a channel's new messages, events, viewer counts and chat rate
as server-sent events (HTTP over :class:`streamscope.query.live.LiveTail`, which polls the warehouse,
so it works whoever writes the rows: ``streamscope up`` or a distributed deployment).

Events (``data`` is one JSON object):

* ``message`` — a ``/messages`` item; its SSE ``id`` is a resume token;
* ``event`` — an ``/events`` item (not USERSTATE/GLOBALUSERSTATE);
* ``viewers`` — ``{"at", "viewers"}`` per Helix sample;
* ``stats`` — ``{"at", "messages_per_min", "chatters_per_min"}``: messages and distinct chatters
  sent in the minute before ``at``, when it changed (and with each batch of messages).

A comment line (``: ping``) goes out every :data:`PING_S` seconds so proxies keep the connection.
The parameters are checked before the first byte: a bad one is a 400, an unknown channel a 404.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from streamscope.api.deps import WarehouseDep
from streamscope.api.routes.channels import ChannelParam
from streamscope.query.channels import resolve
from streamscope.query.live import LiveBatch, LiveTail, parse_resume, resume_token

router = APIRouter(prefix="/v1/channels", tags=["live"])

POLL_S = 1.0
PING_S = 15.0
RETRY_MS = 2000


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


def _event(name: str, data: Any, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def encode_batch(batch: LiveBatch) -> bytes:
    """One poll's rows as SSE frames: messages, events, viewers, then the chat rate."""
    out = [_event("message", m, resume_token(m["sent_timestamp"], m["id"])) for m in batch.messages]
    out += [_event("event", e) for e in batch.events]
    out += [_event("viewers", {"at": v.at, "viewers": v.viewers}) for v in batch.viewers]
    if batch.stats is not None:
        out.append(_event("stats", batch.stats._asdict()))
    return b"".join(out)


async def _frames(tail: LiveTail, first: LiveBatch, timeout_s: float) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + timeout_s
    yield f"retry: {RETRY_MS}\n\n".encode() + encode_batch(first)
    pinged = time.monotonic()
    while True:
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        if time.monotonic() >= deadline:
            return
        body = encode_batch(await run_in_threadpool(tail.poll))
        if body:
            yield body
        elif time.monotonic() - pinged >= PING_S:
            pinged = time.monotonic()
            yield b": ping\n\n"


@router.get(
    "/{channel}/live",
    summary="New messages, events, viewers and chat rate of a channel (server-sent events)",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream` (until `timeout`): events `message`, `event`, "
            "`viewers`, `stats` (see the operation description), a `: ping` comment every 15 s.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        400: {"description": "Bad parameter (also a Last-Event-ID that is not a resume token)"},
        404: {"description": "Unknown channel"},
    },
)
async def channel_live(
    warehouse: WarehouseDep,
    channel: ChannelParam,
    backlog: Annotated[
        int, Query(ge=0, le=500, description="Messages (and events) stored before the request to send first.")
    ] = 50,
    timeout: Annotated[
        float,
        Query(
            gt=0,
            le=86_400,
            description="Seconds after which the server ends the stream. EventSource clients reconnect "
            "by themselves with Last-Event-ID, so a bounded stream loses nothing.",
        ),
    ] = 3600.0,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=64,
            description="Resume after this message: the `id` of the last `message` event received "
            "(browsers send it when they reconnect). Then no backlog is sent; messages after it come "
            "first, and events from 15 s before its time on.",
        ),
    ] = None,
) -> EventStreamResponse:
    """The channel as it is being captured. The first frames are the last `backlog` messages and
    events, the newest viewer sample and the chat rate now; after that, each second, what was stored
    since (a message stored up to 15 s behind the newest one sent still comes, once). Each `message`
    has an `id`: a client that reconnects with it as `Last-Event-ID` gets what followed it.
    Times are Unix epoch ms; `stats` counts messages and distinct chatters sent in the last minute."""
    resume = parse_resume(last_event_id) if last_event_id is not None else None
    found = await run_in_threadpool(resolve, warehouse, channel)
    tail = LiveTail(warehouse, found.id)
    first = await run_in_threadpool(tail.start, backlog, resume)
    return EventStreamResponse(
        _frames(tail, first, timeout),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
