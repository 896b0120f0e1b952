"""Moderation marks, computed at read time (the archive keeps every message's text).

Rule, for a message M by user U in channel C sent at T:

* ``deleted`` when a CLEARMSG (``chat_events.kind = 'delete'``) in C targets M's id;
* ``timed_out`` / ``banned`` by the *first* CLEARCHAT targeting U in C at or after T (kind
  ``timeout`` or ``ban``); a later action does not override the first one;
* ``cleared`` by the first channel-wide CLEARCHAT (kind ``clear``) in C at or after T.

Each applied action is listed in ``moderation`` as ``{kind, at (ms), duration_s}`` (duration only
for timeouts). A page costs one extra query, restricted to the page's channel, message ids, users
and time range: deletions of the page's ids, every timeout/ban/clear between the page's first and
last message, and the first one after the page per user (plus the first clear after it). That last
part scans the channel's later events, which is cheap because chat_events is small next to
chat_messages and skips granules with its kind/target indexes.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from streamscope.api.deps import Warehouse

_SQL = """
SELECT toString(kind) AS kind_str, target_user_id, target_message_id,
       toUnixTimestamp64Milli(at) AS at_ms, duration_s
FROM chat_events FINAL
WHERE channel_id = {cid:UInt64} AND kind = 'delete'
  AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
  AND target_message_id IN {ids:Array(String)}
UNION ALL
SELECT toString(kind), target_user_id, '', toUnixTimestamp64Milli(at), duration_s
FROM chat_events FINAL
WHERE channel_id = {cid:UInt64}
  AND at BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
  AND ((kind IN ('timeout', 'ban') AND target_user_id IN {users:Array(UInt64)}) OR kind = 'clear')
UNION ALL
SELECT toString(argMin(kind, at)), target_user_id, '', toUnixTimestamp64Milli(min(at)),
       argMin(duration_s, at)
FROM chat_events FINAL
WHERE channel_id = {cid:UInt64}
  AND at > fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
  AND ((kind IN ('timeout', 'ban') AND target_user_id IN {users:Array(UInt64)}) OR kind = 'clear')
GROUP BY target_user_id
"""


def apply_marks(warehouse: Warehouse, channel_id: int, messages: Sequence[dict[str, Any]]) -> None:
    """Set ``deleted``/``timed_out``/``banned``/``cleared``/``moderation`` on message objects.

    ``messages`` are objects from :func:`~streamscope.api.messages.message_object`, all of channel
    ``channel_id``.
    """
    if not messages:
        return
    sent = [m["sent_timestamp"] for m in messages]
    rows = warehouse.rows(
        _SQL,
        {
            "cid": channel_id,
            "lo": min(sent),
            "hi": max(sent),
            "ids": [m["id"] for m in messages],
            "users": sorted({m["user"]["id"] for m in messages}),
        },
    )
    deletes: dict[str, int] = {}
    # Per target user (0 = channel-wide clear): actions sorted by time, for a bisect per message.
    actions: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for kind, target_user, target_msg, at_ms, duration in rows:
        if kind == "delete":
            deletes[target_msg] = min(at_ms, deletes.get(target_msg, at_ms))
        else:
            actions[0 if kind == "clear" else int(target_user)].append((at_ms, kind, int(duration)))
    for timeline in actions.values():
        timeline.sort()
    for m in messages:
        deleted_at = deletes.get(m["id"])
        if deleted_at is not None:
            m["deleted"] = True
            m["moderation"].append({"kind": "delete", "at": deleted_at, "duration_s": None})
        uid = m["user"]["id"]
        # Key 0 holds channel-wide clears; a user id of 0 (no user-id tag) has no own timeline.
        for key in (uid, 0) if uid else (0,):
            timeline = actions.get(key, [])
            if not timeline:
                continue
            i = bisect.bisect_left(timeline, (m["sent_timestamp"], "", -1))
            if i == len(timeline):
                continue
            at_ms, kind, duration = timeline[i]
            m["timed_out" if kind == "timeout" else "banned" if kind == "ban" else "cleared"] = True
            m["moderation"].append(
                {"kind": kind, "at": at_ms, "duration_s": duration if kind == "timeout" else None}
            )
        m["moderation"].sort(key=lambda a: a["at"])
