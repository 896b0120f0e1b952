"""``GET /v1/channels/{channel}/export``: a channel's archive as a downloadable chat file.

The file holds the channel's chat messages and (unless ``events=false``) its user-visible events —
subs, resubs, gifts, raids, announcements, timeouts, bans, clears, deletions — in time order, each
exactly as a live capture of its raw line would write it. The body is streamed block by block from
ClickHouse (:class:`streamscope.query.archive.ArchiveExport` over
:func:`streamscope.query.archive_query.archive_query`, the same code path as ``streamscope export``),
so memory stays flat whatever the size. Parameters are checked before the first byte is
sent: a bad format, time or user is a 400, an unknown channel a 404, all with the ``{"error": ...}``
shape.

With embedded chDB the export opens a client handle of its own (chDB allows any number of handles
on the process's one engine), so other requests go on while a file streams to a slow reader; with a
ClickHouse server the shared client is held for the whole stream (other requests wait); see
:meth:`streamscope.warehouse.shared.Warehouse.stream_client`.

Each export holds one of the server's worker threads while it streams, so at most
``export_max_concurrent`` (setting, default 4) stream at once (:class:`ExportSlots`); one more is a
429 with ``Retry-After``, answered before the export starts, so the rest of the API keeps its threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from streamscope.api.deps import WarehouseDep
from streamscope.api.errors import ApiError, bad_parameter
from streamscope.api.routes.channels import ChannelParam, EndParam, StartParam, UserParam
from streamscope.query.archive import ArchiveExport
from streamscope.query.archive_query import ArchiveQuery, archive_query
from streamscope.sinks.files import CONTENT_TYPES, EXTENSIONS, FORMATS
from streamscope.warehouse.shared import Warehouse

router = APIRouter(prefix="/v1/channels", tags=["export"])

FormatParam = Annotated[
    str,
    Query(
        description="File format: json (one array), jsonl (one object per line), csv (flattened, "
        "documented columns), txt (`[YYYY-MM-DD HH:MM:SS] name: text`, UTC), irc (the raw IRC lines) "
        "or twitchdownloader (TwitchDownloader's chat JSON, for its renderer)."
    ),
]
EventsParam = Annotated[
    bool,
    Query(
        description="Include the channel's events (subs, resubs, gifts, raids, announcements, timeouts, "
        "bans, clears, deletions) as rows with their `message_type`, in time order with the messages "
        "(in `irc`: their raw lines). `false`: chat messages only."
    ),
]

TranscriptParam = Annotated[
    bool,
    Query(
        description="txt and jsonl: interleave what the streamer said (transcript segments) with chat, "
        "each a row of `message_type` `transcript` at its start time, author the channel "
        "(txt: `[time] [voice] channel: text`). Ignored by the other formats and when `user` is "
        "someone other than the channel.",
    ),
]


def file_stamp(ms: int | None, default: str) -> str:
    """``20190915T000000Z`` for a filename, or ``default`` when the bound is open."""
    if ms is None:
        return default
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ms // 1000))


def export_filename(channel: str, fmt: str, start_ms: int | None, end_ms: int | None) -> str:
    """``<channel>_<start>_<end>.<ext>`` (open bounds read ``begin`` / ``latest``)."""
    return f"{channel}_{file_stamp(start_ms, 'begin')}_{file_stamp(end_ms, 'latest')}{EXTENSIONS[fmt]}"


RETRY_AFTER_S = 10


class ExportSlots:
    """At most ``limit`` exports at once: :meth:`take` a slot (non-blocking), give it back when the
    response ends. Made once per app (``app.state.exports``, by
    :func:`streamscope.api.app.create_app`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def take(self) -> Callable[[], None]:
        """A free slot's release function, or a 429 ``too_many_exports`` with ``Retry-After``."""
        if not self._free.acquire(blocking=False):
            raise ApiError(
                429,
                "too_many_exports",
                f"{self.limit} exports are streaming, the most this server runs at once; retry in a moment",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        return self._free.release


def get_export_slots(request: Request) -> ExportSlots:
    slots: ExportSlots = request.app.state.exports
    return slots


ExportSlotsDep = Annotated[ExportSlots, Depends(get_export_slots)]


class _SlotResponse(StreamingResponse):
    """A streamed export that gives its slot back when the response ends, however it ends (done,
    failed, or the client went away)."""

    def __init__(
        self, content: Iterator[bytes], release: Callable[[], None], media_type: str, headers: dict[str, str]
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _stream(
    warehouse: Warehouse, query: ArchiveQuery, fmt: str, events: bool, transcript: bool = False
) -> Iterator[bytes]:
    with warehouse.stream_client() as client:
        yield from ArchiveExport(client, query, fmt, events=events, transcript=transcript).chunks()


@router.get(
    "/{channel}/export",
    summary="Export a channel's chat as a file (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The file, streamed", "content": {t: {} for t in set(CONTENT_TYPES.values())}},
        400: {"description": "Bad parameter"},
        404: {"description": "Unknown channel"},
        429: {"description": "Too many exports streaming; retry after `Retry-After` seconds"},
    },
)
def export_channel(
    warehouse: WarehouseDep,
    slots: ExportSlotsDep,
    channel: ChannelParam,
    format: FormatParam = "jsonl",  # noqa: A002 - the public parameter name
    start: StartParam = None,
    end: EndParam = None,
    user: UserParam = None,
    events: EventsParam = True,
    transcript: TranscriptParam = False,
) -> StreamingResponse:
    """The channel's chat in one file, oldest first: chat messages (`message_type` `text_message`,
    with moderation marks `deleted`/`timed_out`/`banned`) and, unless `events=false`, its events as
    rows of their own: `subscription`, `resubscription`, `subscription_gift`, `raid`,
    `announcement`, ... (other USERNOTICE kinds as Twitch names them), `timeout`, `ban`,
    `clear_chat`, `delete_message` (`twitchdownloader` keeps the USERNOTICE ones only: its format
    has no moderation comments). Within a millisecond, messages come before events. Each row is
    what a live capture of the same raw line writes; `irc` is the raw lines as Twitch sent them.
    `user` keeps the messages and events concerning that user (written by them, or aimed at them:
    a gift received, a timeout, a ban, a deleted message). The fields are documented in the README
    (`streamscope.sinks.files.schema`). `Content-Disposition` names the file
    `<channel>_<start>_<end>.<ext>`."""
    if format not in FORMATS:
        raise bad_parameter("format", f"{format[:40]!r} is not a format; use one of {', '.join(FORMATS)}")
    query = archive_query(warehouse, channel, start, end, user)
    filename = export_filename(query.channel, format, query.start_ms, query.end_ms)
    return _SlotResponse(
        _stream(warehouse, query, format, events, transcript),
        slots.take(),
        media_type=CONTENT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
