"""The events of an archive export: what ``chat_events`` holds that a chat user sees, read in pages.

An export merges two ordered streams: chat messages (``chat_messages``, streamed block by block) and
user-visible events (``chat_events``: USERNOTICE subs, resubs, gifts, raids, announcements, ...;
CLEARCHAT timeouts, bans, clears; CLEARMSG deletions). One client cannot read a second query while a
stream is open, so the export is cut into time windows by the events themselves: :func:`event_page`
reads the next :data:`EVENT_PAGE` events (one short query), which fixes the window's end, then the
messages of that window are streamed and the page is merged in. Memory is one block of messages plus
one page of events, whatever the size of the export; a month of a busy channel takes a handful of
windows (events are ~1 % of chat).

Each event row is read in :data:`streamscope.twitch.irc.rows.EVENT_COLUMNS` order and converted by
the capture's own :func:`streamscope.sinks.files.convert.event_message`, so an event in an export is the
:class:`~streamscope.sinks.files.schema.FileMessage` a live capture of its raw line gives (``raw`` is
the stored
raw line, byte for byte; moderation marks stay null: they describe chat messages).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from clickhouse_connect.driver.client import Client
from streamscope.sinks.files.convert import MODERATION_TYPES, event_message
from streamscope.sinks.files.schema import FileMessage

if TYPE_CHECKING:
    from streamscope.sinks.files.archive import ArchiveQuery

#: Events per page: one window of the export reads at most this many events (one short query).
EVENT_PAGE = 4096

# Exactly the rows :func:`event_message` turns into a FileMessage (the rest is room state,
# NOTICE, JOIN...: not chat a user sees).
_MODERATION = ", ".join(f"'{k}'" for k in MODERATION_TYPES)
VISIBLE = f"(command = 'USERNOTICE' OR (command IN ('CLEARCHAT', 'CLEARMSG') AND kind IN ({_MODERATION})))"
#: TwitchDownloader's model has no moderation comments: only USERNOTICE events are read for it.
USERNOTICES = "command = 'USERNOTICE'"

# EVENT_COLUMNS order up to ``raw`` (what event_message reads); aliases never reuse a column name.
_COLUMNS = (
    "channel_id, channel, toUnixTimestamp64Milli(at) AS at_ms, toString(event_id) AS event_uuid, "
    "toString(command) AS command_str, toString(kind) AS kind_str, user_id, user_login, display_name, "
    "target_user_id, target_login, target_message_id, duration_s, text, system_message, tags, raw"
)


def events_where(query: ArchiveQuery, params: dict[str, Any], visible: str = VISIBLE) -> str:
    """The WHERE clause over chat_events for ``query`` (binding values into ``params``).

    The ``user`` filter keeps the events concerning that user: those they caused (a sub, a raid,
    an announcement) or that target them (a gift received, a timeout, a ban, a deleted message of
    theirs). A deletion names only the login of the message's author, so for a numeric id it is
    matched through the deleted message's id among that user's archived messages.
    """
    params["cid"] = query.channel_id
    conds = ["channel_id = {cid:UInt64}", visible]
    if query.start_ms is not None:
        params["start"] = query.start_ms
        conds.append("at >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')")
    if query.end_ms is not None:
        params["end"] = query.end_ms
        conds.append("at < fromUnixTimestamp64Milli({end:Int64}, 'UTC')")
    if query.user_id is not None:
        params["uid"] = query.user_id
        conds.append(
            "(user_id = {uid:UInt64} OR target_user_id = {uid:UInt64} OR (kind = 'delete' AND "
            "target_message_id IN (SELECT toString(message_id) FROM chat_messages "
            "WHERE channel_id = {cid:UInt64} AND user_id = {uid:UInt64})))"
        )
    if query.user_login is not None:
        params["ulogin"] = query.user_login
        conds.append("(user_login = {ulogin:String} OR target_login = {ulogin:String})")
    return " AND ".join(conds)


@dataclass(frozen=True, slots=True)
class EventPage:
    """The events of one window ``[query.start_ms, end_ms)``, oldest first (``end_ms`` None: up to
    the query's own end, i.e. this is the last window)."""

    events: list[FileMessage]
    end_ms: int | None


def _read(client: Client, query: ArchiveQuery, visible: str, limit: int | None) -> list[FileMessage]:
    params: dict[str, Any] = {}
    sql = f"SELECT {_COLUMNS} FROM chat_events FINAL WHERE {events_where(query, params, visible)} "
    sql += "ORDER BY at, event_id"
    if limit is not None:
        params["n"] = limit
        sql += " LIMIT {n:UInt32}"
    rows = client.query(sql, parameters=params).result_rows
    return [m for m in map(event_message, rows) if m is not None]  # VISIBLE keeps only these


def event_page(
    client: Client, query: ArchiveQuery, *, visible: str = VISIBLE, page: int = EVENT_PAGE
) -> EventPage:
    """The next window from ``query.start_ms``: its events (at most ``page``) and where it ends.

    Reads ``page + 1`` events: when there are more than ``page``, the window ends at the time of the
    first event left out, and only the events before that millisecond are kept, so a window always
    holds whole milliseconds (the merge puts a millisecond's messages before its events). If more
    than ``page`` events share the first millisecond (never seen on Twitch), that millisecond is
    read whole as its own window.
    """
    rows = _read(client, query, visible, page + 1)
    if len(rows) <= page:
        return EventPage(rows, None)
    end = rows[page].timestamp
    kept = [m for m in rows if m.timestamp < end]
    if kept:
        return EventPage(kept, end)
    first = rows[0].timestamp
    one_ms = replace(query, start_ms=first, end_ms=first + 1)
    return EventPage(_read(client, one_ms, visible, None), first + 1)
