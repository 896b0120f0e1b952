"""The room reader: the chat modes (ROOMSTATE) in force in a channel when each message was sent, for
the ``room`` of the ``/v1.0`` message object.

Twitch sends every mode in the ROOMSTATE that follows a JOIN, then, on each change, a ROOMSTATE with
only the changed tag (``@room-id=...;slow=30``). The modes in force at time T are the fold, oldest
first, of every ROOMSTATE of the channel at or before T, ordered by ``(at, event_id)``, where ``at``
is the receive time (ROOMSTATE has no ``tmi-sent-ts``). A mode no ROOMSTATE has mentioned is off; a
value that does not decode leaves the mode as it was. A ROOMSTATE stored twice folds to the same
state, so the read needs no FINAL.

:func:`page_rooms` serves one API page with one query over ``room_states`` (migration 0004: the
ROOMSTATE rows of ``chat_events``, copied by a materialized view), the channel's ROOMSTATEs up to the
page's last message: a few hundred rows per channel-year, where the same fold over ``chat_events``
would read the channel's whole event history. :func:`all_rooms` reads the whole timeline of a channel,
which :mod:`streamscope.query.timelines` keeps between pages.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from streamscope.twitch.irc.fields import flag, int_or_none
from streamscope.warehouse.rows import MessageRow
from streamscope.warehouse.shared import Warehouse

#: The ROOMSTATE tags that are chat modes (``rituals`` is retired, ``room-id`` names the channel).
MODE_TAGS = frozenset({"emote-only", "followers-only", "r9k", "slow", "subs-only"})


@dataclass(frozen=True, slots=True)
class RoomModes:
    """Chat modes: ``followers_only`` in minutes (-1 = off, 0 = any follower), ``slow`` in seconds."""

    emote_only: bool = False
    followers_only: int = -1
    r9k: bool = False
    slow: int = 0
    subs_only: bool = False

    def updated(self, tags: Mapping[str, str]) -> RoomModes:
        """These modes after a ROOMSTATE with ``tags`` (unescaped, as ``chat_events`` and
        ``room_states`` store them)."""
        changes: dict[str, bool | int] = {}
        for key, value in tags.items():
            decoded = _decode(key, value) if key in MODE_TAGS else None
            if decoded is not None:
                changes[key] = decoded
        if not changes:
            return self
        return RoomModes(
            bool(changes.get("emote-only", self.emote_only)),
            int(changes.get("followers-only", self.followers_only)),
            bool(changes.get("r9k", self.r9k)),
            int(changes.get("slow", self.slow)),
            bool(changes.get("subs-only", self.subs_only)),
        )


def _decode(key: str, value: str | None) -> bool | int | None:
    """A mode tag's value (minutes/seconds for followers-only/slow, else on/off); None when the
    tag is absent or its value does not decode."""
    if key in ("followers-only", "slow"):
        number = int_or_none(value)
        return None if number is None or number < -1 or (key == "slow" and number < 0) else number
    return flag(value)


#: Before any ROOMSTATE.
NO_MODES = RoomModes()


class RoomstateRow(NamedTuple):
    """One ROOMSTATE as read from ``room_states``: its mode tags only."""

    at_ms: int
    tags: dict[str, str]


class RoomTimeline:
    """The modes of one channel over time, from its ROOMSTATEs oldest first."""

    __slots__ = ("_modes", "_times")

    def __init__(self, rows: Iterable[RoomstateRow]) -> None:
        self._times: list[int] = []
        self._modes: list[RoomModes] = []
        modes = NO_MODES
        for row in rows:
            modes = modes.updated(row.tags)
            self._times.append(int(row.at_ms))
            self._modes.append(modes)

    def at(self, ms: int) -> RoomModes:
        """The modes in force at ``ms`` (a ROOMSTATE of that same millisecond counts)."""
        i = bisect.bisect_right(self._times, ms)
        return self._modes[i - 1] if i else NO_MODES


_PAGE_SQL = """
SELECT toUnixTimestamp64Milli(at) AS at_ms, mapFilter((k, v) -> has({modes:Array(String)}, k), tags) AS modes
FROM room_states
WHERE channel_id = {cid:UInt64} AND at <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
ORDER BY at, event_id
"""


_CHANNEL_SQL = """
SELECT toUnixTimestamp64Milli(at) AS at_ms, mapFilter((k, v) -> has({modes:Array(String)}, k), tags) AS modes
FROM room_states
WHERE channel_id = {cid:UInt64}
ORDER BY at, event_id
LIMIT {n:UInt64}
"""


def all_rooms(warehouse: Warehouse, channel_id: int, max_rows: int) -> RoomTimeline | None:
    """The whole room timeline of channel ``channel_id`` (what
    :class:`~streamscope.query.timelines.Timelines` keeps), or None when it has more than
    ``max_rows`` ROOMSTATEs."""
    rows = warehouse.rows(_CHANNEL_SQL, {"cid": channel_id, "modes": sorted(MODE_TAGS), "n": max_rows + 1})
    return RoomTimeline(RoomstateRow._make(row) for row in rows) if len(rows) <= max_rows else None


def page_rooms(warehouse: Warehouse, channel_id: int, messages: Sequence[MessageRow]) -> RoomTimeline:
    """The room timeline that answers for every message of ``messages`` (one page of channel
    ``channel_id``), in one query: the channel's ROOMSTATEs up to the page's last message."""
    if not messages:
        return RoomTimeline(())
    hi = max(m.sent_at for m in messages)
    rows = warehouse.rows(_PAGE_SQL, {"cid": channel_id, "hi": hi, "modes": sorted(MODE_TAGS)})
    return RoomTimeline(RoomstateRow._make(row) for row in rows)
