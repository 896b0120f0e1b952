"""The channels captured: resolve a ``{channel}`` value (login or numeric id) through the ``channels``
table, and list every channel with its span and message count."""

from __future__ import annotations

from typing import NamedTuple

from streamscope.query.errors import NotFound
from streamscope.query.params import id_or_login
from streamscope.warehouse.shared import Warehouse

# channels holds one row per (channel_id, login) a channel has had (rows not merged yet may repeat
# one), so the current login is argMax(login, last_seen) per id rather than whatever row comes first.
_BY_ID = """
SELECT channel_id, argMax(login, last_seen) FROM channels
WHERE channel_id = {cid:UInt64} GROUP BY channel_id
"""
_BY_LOGIN = """
SELECT channel_id, current FROM (
    SELECT channel_id, argMax(login, last_seen) AS current FROM channels
    WHERE channel_id IN (SELECT channel_id FROM channels WHERE login = {login:String})
    GROUP BY channel_id
) WHERE current = {login:String}
"""

# Message counts use FINAL over all of chat_messages: exact, but it reads every row's key
# columns (~1 s per 100M rows). Good enough for a list page; a per-channel counter table fed by
# the pipeline is the fix when it shows up in latency.
_CHANNELS_SQL = """
SELECT c.channel_id, c.current_login, c.first_ms, c.last_ms, ifNull(m.messages, 0)
FROM (
    SELECT channel_id, argMax(login, last_seen) AS current_login,
           toUnixTimestamp64Milli(min(first_seen)) AS first_ms,
           toUnixTimestamp64Milli(max(last_seen)) AS last_ms
    FROM channels GROUP BY channel_id
) AS c
LEFT JOIN (
    SELECT channel_id, count() AS messages FROM chat_messages FINAL GROUP BY channel_id
) AS m ON m.channel_id = c.channel_id
ORDER BY c.current_login, c.channel_id
SETTINGS join_use_nulls = 1
"""


class Channel(NamedTuple):
    """A captured channel: its Twitch id (room-id) and current login."""

    id: int
    login: str


class ChannelSummary(NamedTuple):
    """One channel of :func:`list_channels`: times are epoch ms, ``messages`` counts each once."""

    id: int
    login: str
    first_seen: int
    last_seen: int
    messages: int


def resolve(warehouse: Warehouse, channel: str) -> Channel:
    """The channel whose id (ASCII digits) or current login (case-insensitive) is ``channel``.

    A value that is neither (:func:`~streamscope.query.params.id_or_login`) is a
    :class:`~streamscope.query.errors.BadParameter`; an unknown channel is a :class:`NotFound`
    ``unknown_channel``. A login that was renamed away resolves only to its new owner's id, never to
    the old one.
    """
    value = id_or_login("channel", channel)
    if isinstance(value, int):
        rows = warehouse.rows(_BY_ID, {"cid": value})
    else:
        rows = warehouse.rows(_BY_LOGIN, {"login": value})
    if not rows:
        raise NotFound("unknown_channel", f"channel {channel[:64]!r} has not been captured")
    cid, login = rows[0]
    return Channel(int(cid), login)


def by_id(warehouse: Warehouse, channel_id: int) -> Channel:
    """The channel with this numeric id, or a :class:`NotFound` ``unknown_channel``."""
    return resolve(warehouse, str(channel_id))


def list_channels(warehouse: Warehouse) -> list[ChannelSummary]:
    """Every channel anything was captured from, by current login."""
    return [
        ChannelSummary(int(cid), login, int(first), int(last), int(messages))
        for cid, login, first, last, messages in warehouse.rows(_CHANNELS_SQL)
    ]
