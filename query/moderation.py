"""Moderation marks, computed at read time (the archive keeps every message's text): the one rule,
used by the API's message objects and by archive exports alike.

Rule, for a message M by user U in channel C sent at T (epoch ms):

* ``deleted`` when a CLEARMSG (``chat_events.kind = 'delete'``) in C targets M's id;
* ``timed_out`` / ``banned`` by the *first* CLEARCHAT targeting U in C at or after T (kind
  ``timeout`` or ``ban``); a later action does not override the first one. "At or after": an action
  in the same millisecond as M counts (Twitch stamps a CLEARCHAT after the message it punishes, but
  both may fall in one millisecond);
* ``cleared`` by the first channel-wide CLEARCHAT (kind ``clear``) in C at or after T.

Each applied action is one :class:`Action` of :attr:`MessageMarks.actions` (``delete`` first, by
time). :class:`Moderation` holds the timelines and applies the rule; its rows come from one of two
loaders: :func:`page_moderation` (an API page: one query restricted to the page's ids, users and
time range, plus the first action after the page per user), :func:`all_moderation` (every action of
the channel, kept between pages by :mod:`streamscope.query.timelines`) and :func:`channel_moderation`
(an export: every action of the channel from the export's start, read once before its stream opens;
that is O(moderation events), small next to chat).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from clickhouse_connect.driver.client import Client

from streamscope.warehouse.rows import MessageRow
from streamscope.warehouse.shared import Warehouse

#: The chat_events kinds that mark messages.
KINDS = ("delete", "timeout", "ban", "clear")


class ModerationRow(NamedTuple):
    """One moderation action as read from ``chat_events`` (``target_message_id``: deletions only)."""

    kind: str
    target_user_id: int
    target_message_id: str
    at_ms: int
    duration_s: int


class Action(NamedTuple):
    """An action applied to a message: ``duration_s`` for timeouts only, else None."""

    kind: str
    at_ms: int
    duration_s: int | None


@dataclass(frozen=True, slots=True)
class MessageMarks:
    """The marks of one message and the actions behind them, oldest first."""

    deleted: bool = False
    timed_out: bool = False
    banned: bool = False
    cleared: bool = False
    actions: tuple[Action, ...] = ()


NO_MARKS = MessageMarks()


class Moderation:
    """The moderation timelines of one channel: deletions by message id, timeouts/bans per target
    user, channel-wide clears; :meth:`marks` applies the rule of the module docstring."""

    __slots__ = ("_clears", "_deletes", "_last_clear", "_users")

    def __init__(self, rows: Iterable[ModerationRow]) -> None:
        self._deletes: dict[str, int] = {}
        self._users: dict[int, list[tuple[int, str, int]]] = {}
        self._clears: list[tuple[int, str, int]] = []
        for kind, target_user, target_msg, at_ms, duration in rows:
            at, user = int(at_ms), int(target_user)
            if kind == "delete":
                if target_msg:
                    self._deletes[target_msg] = min(at, self._deletes.get(target_msg, at))
            elif kind == "clear":
                self._clears.append((at, kind, int(duration)))
            elif kind in ("timeout", "ban") and user:
                self._users.setdefault(user, []).append((at, kind, int(duration)))
        self._clears.sort()
        self._last_clear = self._clears[-1][0] if self._clears else -1
        for timeline in self._users.values():
            timeline.sort()

    def marks(self, message_id: str, user_id: int, sent_ms: int) -> MessageMarks:
        """The marks of message ``message_id`` by ``user_id`` (0: unknown user, who has no
        timeouts of their own) sent at ``sent_ms``."""
        deleted_at = self._deletes.get(message_id)
        timeline = self._users.get(user_id, ()) if user_id else ()
        if deleted_at is None and not timeline and sent_ms > self._last_clear:
            return NO_MARKS  # most messages: an export asks for every one of them
        own = _first_at_or_after(timeline, sent_ms)
        clear = _first_at_or_after(self._clears, sent_ms)
        if deleted_at is None and own is None and clear is None:
            return NO_MARKS
        actions = [] if deleted_at is None else [Action("delete", deleted_at, None)]
        for at, kind, duration in (a for a in (own, clear) if a is not None):
            actions.append(Action(kind, at, duration if kind == "timeout" else None))
        actions.sort(key=lambda a: a.at_ms)  # stable: a deletion stays first within its millisecond
        kind = own[1] if own is not None else ""
        return MessageMarks(
            deleted=deleted_at is not None,
            timed_out=kind == "timeout",
            banned=kind == "ban",
            cleared=clear is not None,
            actions=tuple(actions),
        )


def _first_at_or_after(timeline: Sequence[tuple[int, str, int]], sent_ms: int) -> tuple[int, str, int] | None:
    i = bisect.bisect_left(timeline, (sent_ms, "", -1))
    return timeline[i] if i < len(timeline) else None


# One scan of the channel's actions from the page's first message on: every action up to its last
# message, and after it only the first per target (user; message for deletions; user 0 for clears):
# LIMIT 1 BY keys the later rows by target alone and the earlier ones by event_id too. One SELECT
# costs about half the CPU of the three-part UNION it replaces (each part paid its own planning).
_PAGE_SQL = """
SELECT toString(kind) AS kind_str, target_user_id, target_message_id,
       toUnixTimestamp64Milli(at) AS at_ms, duration_s
FROM chat_events FINAL
WHERE channel_id = {cid:UInt64} AND kind IN ('delete', 'timeout', 'ban', 'clear')
  AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
  AND ((kind = 'delete' AND target_message_id IN {ids:Array(String)})
       OR (kind IN ('timeout', 'ban') AND target_user_id IN {users:Array(UInt64)})
       OR kind = 'clear')
ORDER BY at, event_id
LIMIT 1 BY target_user_id, target_message_id,
           if(at > fromUnixTimestamp64Milli({hi:Int64}, 'UTC'), '', toString(event_id))
"""

_CHANNEL_SQL = """
SELECT toString(kind) AS kind_str, target_user_id, target_message_id,
       toUnixTimestamp64Milli(at) AS at_ms, duration_s
FROM chat_events FINAL
WHERE channel_id = {cid:UInt64} AND kind IN ('delete', 'timeout', 'ban', 'clear')
  AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
"""


def page_moderation(warehouse: Warehouse, channel_id: int, messages: Sequence[MessageRow]) -> Moderation:
    """The actions that can mark ``messages`` (one page, all of channel ``channel_id``), in one query:
    deletions of the page's ids, every timeout/ban/clear between its first and last message, and
    the first one after the page per user (plus the first clear after it). That last part scans the
    channel's later events, which is cheap because chat_events is small next to chat_messages and
    skips granules with its kind/target indexes."""
    if not messages:
        return Moderation(())
    sent = [m.sent_at for m in messages]
    rows = warehouse.rows(
        _PAGE_SQL,
        {
            "cid": channel_id,
            "lo": min(sent),
            "hi": max(sent),
            "ids": [m.message_id for m in messages],
            "users": sorted({m.user_id for m in messages}),
        },
    )
    return Moderation(ModerationRow._make(row) for row in rows)


def all_moderation(warehouse: Warehouse, channel_id: int, max_rows: int) -> Moderation | None:
    """Every action of channel ``channel_id`` (what :class:`~streamscope.query.timelines.Timelines`
    keeps), or None when there are more than ``max_rows``."""
    rows = warehouse.rows(_CHANNEL_SQL + "LIMIT {n:UInt64}", {"cid": channel_id, "lo": 0, "n": max_rows + 1})
    return Moderation(ModerationRow._make(row) for row in rows) if len(rows) <= max_rows else None


def channel_moderation(client: Client, channel_id: int, since_ms: int | None) -> Moderation:
    """Every action of channel ``channel_id`` at or after ``since_ms`` (None: all of them)."""
    rows = client.query(_CHANNEL_SQL, parameters={"cid": channel_id, "lo": since_ms or 0}).result_rows
    return Moderation(ModerationRow._make(row) for row in rows)
