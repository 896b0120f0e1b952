"""The events of an archive export: what ``chat_events`` holds that a chat user sees, read in pages.

An export merges two ordered streams: chat messages (``chat_messages``, streamed block by block) and
user-visible events (``chat_events``: USERNOTICE subs, resubs, gifts, raids, announcements, ...;
CLEARCHAT timeouts, bans, clears; CLEARMSG deletions). One client cannot read a second query while a
stream is open, so the export is cut into time windows by the events themselves: :func:`event_window`
reads the next :data:`EVENT_PAGE` events (one short query), which fixes the window's end, then the
messages of that window are streamed and the page is merged in. Memory is one block of messages plus
one page of events, whatever the size of the export; a month of a busy channel takes a handful of
windows (events are ~1 % of chat).

Each event is read as an :class:`~streamscope.warehouse.rows.EventRow` and converted by the
capture's own :func:`streamscope.sinks.files.convert.event_message`, so an event in an export is the
:class:`~streamscope.sinks.files.schema.FileMessage` a live capture of its raw line gives (``raw`` is
the stored raw line, byte for byte; moderation marks stay null: they describe chat messages).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope.query.archive_query import ArchiveQuery
from streamscope.query.stored import EVENT_SELECT
from streamscope.sinks.files.convert import MODERATION_TYPES, event_message
from streamscope.sinks.files.schema import FileMessage
from streamscope.warehouse.rows import EventRow

#: Events per page: one window of the export reads at most this many events (one short query).
EVENT_PAGE = 4096

# Exactly the rows :func:`event_message` turns into a FileMessage (the rest is room state,
# NOTICE, JOIN...: not chat a user sees).
_MODERATION = ", ".join(f"'{k}'" for k in MODERATION_TYPES)
VISIBLE = f"(command = 'USERNOTICE' OR (command IN ('CLEARCHAT', 'CLEARMSG') AND kind IN ({_MODERATION})))"
#: TwitchDownloader's model has no moderation comments: only USERNOTICE events are read for it.
USERNOTICES = "command = 'USERNOTICE'"


@dataclass(frozen=True, slots=True)
class EventWindow:
    """The events of one window ``[query.start_ms, end_ms)``, oldest first (``end_ms`` None: up to
    the query's own end, i.e. this is the last window)."""

    events: list[FileMessage]
    end_ms: int | None


def _read(client: Client, query: ArchiveQuery, visible: str, limit: int | None) -> list[FileMessage]:
    params: dict[str, Any] = {}
    sql = f"SELECT {EVENT_SELECT} FROM chat_events FINAL WHERE {query.events_where(params, visible)} "
    sql += "ORDER BY at, event_id"
    if limit is not None:
        params["n"] = limit
        sql += " LIMIT {n:UInt32}"
    rows = client.query(sql, parameters=params).result_rows
    events = (event_message(EventRow._make(row)) for row in rows)
    return [m for m in events if m is not None]  # VISIBLE keeps only these


def event_window(
    client: Client, query: ArchiveQuery, *, visible: str = VISIBLE, page: int = EVENT_PAGE
) -> EventWindow:
    """The next window from ``query.start_ms``: its events (at most ``page``) and where it ends.

    Reads ``page + 1`` events: when there are more than ``page``, the window ends at the time of the
    first event left out, and only the events before that millisecond are kept, so a window always
    holds whole milliseconds (the merge puts a millisecond's messages before its events). If more
    than ``page`` events share the first millisecond (never seen on Twitch), that millisecond is
    read whole as its own window.
    """
    rows = _read(client, query, visible, page + 1)
    if len(rows) <= page:
        return EventWindow(rows, None)
    end = rows[page].timestamp
    kept = [m for m in rows if m.timestamp < end]
    if kept:
        return EventWindow(kept, end)
    first = rows[0].timestamp
    one_ms = replace(query, start_ms=first, end_ms=first + 1)
    return EventWindow(_read(client, one_ms, visible, None), first + 1)
