"""What an archive export reads: one channel, an optional time range and user, as SQL conditions
over ``chat_messages`` and ``chat_events`` (used by :mod:`streamscope.query.archive` and
:mod:`streamscope.query.archive_events`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamscope.query.channels import resolve
from streamscope.query.params import time_range, user_filter
from streamscope.warehouse.shared import Warehouse


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """What to export: one channel, an optional time range ``[start_ms, end_ms)`` and user."""

    channel_id: int
    channel: str
    start_ms: int | None = None
    end_ms: int | None = None
    user_id: int | None = None
    user_login: str | None = None

    def where(self, params: dict[str, Any]) -> str:
        """The WHERE clause over chat_messages, binding values into ``params``."""
        params["cid"] = self.channel_id
        conds = ["channel_id = {cid:UInt64}"]
        if self.start_ms is not None:
            params["start"] = self.start_ms
            conds.append("sent_at >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')")
        if self.end_ms is not None:
            params["end"] = self.end_ms
            conds.append("sent_at < fromUnixTimestamp64Milli({end:Int64}, 'UTC')")
        # Plain equality on one column so its bloom_filter index can skip granules.
        if self.user_id is not None:
            params["uid"] = self.user_id
            conds.append("user_id = {uid:UInt64}")
        if self.user_login is not None:
            params["ulogin"] = self.user_login
            conds.append("user_login = {ulogin:String}")
        return " AND ".join(conds)

    def events_where(self, params: dict[str, Any], visible: str) -> str:
        """The WHERE clause over chat_events (the rows ``visible`` selects), binding ``params``.

        The ``user`` filter keeps the events concerning that user: those they caused (a sub, a raid,
        an announcement) or that target them (a gift received, a timeout, a ban, a deleted message of
        theirs). A deletion names only the login of the message's author, so for a numeric id it is
        matched through the deleted message's id among that user's archived messages.
        """
        params["cid"] = self.channel_id
        conds = ["channel_id = {cid:UInt64}", visible]
        if self.start_ms is not None:
            params["start"] = self.start_ms
            conds.append("at >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')")
        if self.end_ms is not None:
            params["end"] = self.end_ms
            conds.append("at < fromUnixTimestamp64Milli({end:Int64}, 'UTC')")
        if self.user_id is not None:
            params["uid"] = self.user_id
            conds.append(
                "(user_id = {uid:UInt64} OR target_user_id = {uid:UInt64} OR (kind = 'delete' AND "
                "target_message_id IN (SELECT toString(message_id) FROM chat_messages "
                "WHERE channel_id = {cid:UInt64} AND user_id = {uid:UInt64})))"
            )
        if self.user_login is not None:
            params["ulogin"] = self.user_login
            conds.append("(user_login = {ulogin:String} OR target_login = {ulogin:String})")
        return " AND ".join(conds)


def archive_query(
    warehouse: Warehouse, channel: str, start: str | None, end: str | None, user: str | None
) -> ArchiveQuery:
    """The export of ``channel`` (login or id) asked for with these parameters, as the API's export
    route and ``streamscope export`` both take them: ISO 8601 ``start``/``end``, ``user`` a login or
    an id. Bad values are a :class:`~streamscope.query.errors.BadParameter`, an unknown channel a
    :class:`~streamscope.query.errors.NotFound` (checked in that order)."""
    start_ms, end_ms = time_range(start, end)
    who = user_filter(user)
    found = resolve(warehouse, channel)
    return ArchiveQuery(found.id, found.login, start_ms, end_ms, who.user_id, who.user_login)
