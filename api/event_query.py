"""Keyset pages of ``chat_events`` for one channel (``/v1/channels/{channel}/events``).

Rows are ordered by the table key ``(at, event_id)``; the cursor has its own scope (``events``),
so a messages cursor passed here is a 400, not a wrong page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamscope.api import cursor as cursors
from streamscope.api.deps import Warehouse
from streamscope.api.errors import bad_parameter

CURSOR_SCOPE = "events"

# Kinds the ingest writes (chat_events.kind): CLEARCHAT -> timeout/ban/clear, CLEARMSG -> delete,
# USERNOTICE -> its msg-id, anything else -> its command. Twitch adds USERNOTICE msg-ids over time,
# so a kind outside this list is still accepted when the warehouse has stored it.
KNOWN_KINDS = frozenset(
    {
        "timeout", "ban", "clear", "delete",
        "sub", "resub", "subgift", "submysterygift", "giftpaidupgrade", "anongiftpaidupgrade",
        "primepaidupgrade", "rewardgift", "raid", "unraid", "ritual", "bitsbadgetier", "announcement",
        "sharedchatnotice", "viewermilestone", "charitydonation", "communitypayforward",
        "standardpayforward", "onetapgiftredeemed",
        "ROOMSTATE", "USERSTATE", "NOTICE", "HOSTTARGET", "USERNOTICE", "CLEARCHAT", "CLEARMSG",
    }
)  # fmt: skip

_COLUMNS = (
    "toString(event_id) AS event_uuid, toString(kind) AS kind_str, toString(command) AS command_str, "
    "toUnixTimestamp64Milli(at) AS at_ms, user_id, user_login, display_name, target_user_id, "
    "target_login, target_message_id, duration_s, text, system_message, tags"
)


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
    kinds = tuple(dict.fromkeys(k.strip() for k in value.split(",") if k.strip()))
    if not kinds:
        raise bad_parameter("kind", "must name at least one kind")
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
            raise bad_parameter(
                "kind",
                f"unknown kind {missing[0][:40]!r}; known kinds: {', '.join(sorted(KNOWN_KINDS))}",
            )
    return kinds


def event_object(row: dict[str, Any]) -> dict[str, Any]:
    """One event as JSON: who acted (``user``), on whom (``target``), and the notice's params.

    Unlike chat_messages, chat_events keeps whole raw lines and stores its ``tags`` unescaped.
    """
    tags: dict[str, str] = row["tags"]
    user = None
    if row["user_id"] or row["user_login"]:
        user = {
            "id": int(row["user_id"]) or None,
            "login": row["user_login"] or None,
            "display_name": row["display_name"] or None,
        }
    target = None
    if row["target_user_id"] or row["target_login"] or row["target_message_id"]:
        target = {
            "id": int(row["target_user_id"]) or None,
            "login": row["target_login"] or None,
            "message_id": row["target_message_id"] or None,
        }
    return {
        "id": row["event_uuid"],
        "kind": row["kind_str"],
        "command": row["command_str"],
        "at": int(row["at_ms"]),
        "user": user,
        "target": target,
        "duration_s": int(row["duration_s"]) if row["kind_str"] == "timeout" else None,
        "text": row["text"] or None,
        "system_message": row["system_message"] or None,
        "msg_params": {
            key[len("msg-param-") :]: value for key, value in tags.items() if key.startswith("msg-param-")
        },
    }


def fetch_events(
    warehouse: Warehouse, query: EventQuery, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
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
        f"SELECT {_COLUMNS} FROM chat_events FINAL WHERE {' AND '.join(where)} "
        "ORDER BY at, event_id LIMIT {n:UInt32}"
    )
    rows = warehouse.named(sql, params)
    events = [event_object(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit and events:
        next_cursor = cursors.encode(CURSOR_SCOPE, events[-1]["at"], events[-1]["id"])
    return events, next_cursor
