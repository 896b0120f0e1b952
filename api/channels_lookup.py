"""Resolve ``{channel}`` path values (login or numeric id) through the ``channels`` table."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.api.deps import Warehouse
from streamscope.api.errors import ApiError

# channels is a ReplacingMergeTree(last_seen) whose duplicates may not be merged yet, so the
# current login is argMax(login, last_seen) per id rather than whatever row comes first.
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


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    login: str


def resolve(warehouse: Warehouse, channel: str) -> Channel:
    """The channel whose id (all digits) or current login (case-insensitive) is ``channel``.

    An unknown channel is a 404 ``unknown_channel``. A login that was renamed away resolves only
    to its new owner's id, never to the old one.
    """
    value = channel.strip()
    if value.isdigit() and int(value) < 2**64:
        rows = warehouse.rows(_BY_ID, {"cid": int(value)})
    else:
        rows = warehouse.rows(_BY_LOGIN, {"login": value.lstrip("#").lower()})
    if not rows:
        raise ApiError(404, "unknown_channel", f"channel {channel[:64]!r} has not been captured")
    cid, login = rows[0]
    return Channel(int(cid), login)


def by_id(warehouse: Warehouse, channel_id: int) -> Channel:
    """The channel with this numeric id, or a 404 ``unknown_channel``."""
    return resolve(warehouse, str(channel_id))
