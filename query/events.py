"""The events reader: keyset pages of ``chat_events`` for one channel (``/v1/channels/{channel}/events``).

Rows are ordered by the table key ``(at, event_id)``; the cursor has its own scope (``events``),
so a messages cursor passed here is an ``invalid_cursor`` error, not a wrong page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamscope.query import cursor as cursors
from streamscope.query.errors import BadParameter
from streamscope.query.render import event_object
from streamscope.query.stored import EVENT_SELECT
from streamscope.warehouse.rows import EventRow
from streamscope.warehouse.shared import Warehouse

CURSOR_SCOPE = "events"

# Kinds the ingest writes (chat_events.kind): CLEARCHAT -> timeout/ban/clear, CLEARMSG -> delete,
# USERNOTICE -> its msg-id, anything else -> its command in lower case (a filter is matched in lower
# case too, so kind=ROOMSTATE works). Twitch adds USERNOTICE msg-ids over time,
# so a kind outside this list is still accepted when the warehouse has stored it.
KNOWN_KINDS = frozenset(
    {
        "timeout", "ban", "clear", "delete",
        "sub", "resub", "subgift", "submysterygift", "giftpaidupgrade", "anongiftpaidupgrade",
        "primepaidupgrade", "rewardgift", "raid", "unraid", "ritual", "bitsbadgetier", "announcement",
        "sharedchatnotice", "viewermilestone", "charitydonation", "communitypayforward",
        "standardpayforward", "onetapgiftredeemed",
        "roomstate", "userstate", "notice", "hosttarget", "usernotice", "clearchat", "clearmsg",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventQuery:
    channel_id: int
    start_ms: int | None = None
    end_ms: int | None = None
    after: cursors.Position | None = None
    kinds: tuple[str, ...] = ()
    user_id: int | None = None
    user_login: str | None = None


def parse_kinds(warehouse: Warehouse, value: str | None) -> tuple[str, ...]:
    """The ``kind`` filter: a comma list; each must be a known kind or one already stored."""
    if value is None:
        return ()
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in value.split(",") if k.strip()))
    if not kinds:
        raise BadParameter("kind", "must name at least one kind")
    unknown = [k for k in kinds if k not in KNOWN_KINDS]
    if unknown:
        stored = {
            row[0]
            for row in warehouse.rows(
                "SELECT DISTINCT toString(kind) FROM chat_events WHERE kind IN {k:Array(String)}",
                {"k": unknown},
            )
        }
        missing = [k for k in unknown if k not in stored]
        if missing:
            raise BadParameter(
                "kind",
                f"unknown kind {missing[0][:40]!r}; known kinds: {', '.join(sorted(KNOWN_KINDS))}",
            )
    return kinds


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[dict[str, Any]]
    cursor: str | None


def fetch_events(warehouse: Warehouse, query: EventQuery, limit: int) -> EventPage:
    """Up to ``limit`` events oldest first and the next page's cursor (None on the last page)."""
    params: dict[str, Any] = {"cid": query.channel_id, "n": limit + 1}
    where = ["channel_id = {cid:UInt64}"]
    where += cursors.keyset_conditions("at", "event_id", query.start_ms, query.end_ms, query.after, params)
    if query.kinds:
        params["kinds"] = list(query.kinds)
        where.append("kind IN {kinds:Array(String)}")
    # The user may be the actor (a sub, a raider) or the target (a timeout, a deleted message).
    if query.user_id is not None:
        params["uid"] = query.user_id
        where.append("(target_user_id = {uid:UInt64} OR user_id = {uid:UInt64})")
    if query.user_login is not None:
        params["ulogin"] = query.user_login
        where.append("(target_login = {ulogin:String} OR user_login = {ulogin:String})")
    sql = (
        f"SELECT {EVENT_SELECT} FROM chat_events FINAL WHERE {' AND '.join(where)} "
        "ORDER BY at, event_id LIMIT {n:UInt32}"
    )
    rows = [EventRow._make(row) for row in warehouse.rows(sql, params)]
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = cursors.encode(CURSOR_SCOPE, page[-1].at, page[-1].event_id)
    return EventPage([event_object(row) for row in page], next_cursor)
