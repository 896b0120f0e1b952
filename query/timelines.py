"""A channel's moderation and room timelines, kept between history pages while their tables are
unchanged.

A page needs the moderation actions that can mark its messages (:mod:`streamscope.query.moderation`)
and, for ``/v1.0``, the chat modes in force when they were sent (:mod:`streamscope.query.rooms`).
Read per page, those are two more queries, and with chDB every query costs milliseconds of planning
whatever it reads: more than the page's own rows query. Both are small per channel (moderation is a
fraction of chat, ROOMSTATEs a few hundred a year), so :class:`Timelines` reads a channel's whole
timeline once, :func:`~streamscope.query.moderation.all_moderation` /
:func:`~streamscope.query.rooms.all_rooms`, and keeps it labelled with the
:meth:`~streamscope.warehouse.shared.Warehouse.version` of its table read just before.

Never stale: a page uses a kept timeline only when the table's version is still the label. Any write
to the table (a CLEARMSG, CLEARCHAT or ROOMSTATE stored after the timeline was read; also a merge or
mutation) changes the version, and the page then reads afresh. With chDB the version check reads the
table's directory (tens of microseconds), not SQL.

Bounded: at most ``max_channels`` timelines of each kind (least recently used dropped), each of at
most ``max_rows`` rows. A bigger channel, a table without a version, or a table written again before
its timeline may be read again gets None, and the caller reads per page
(:func:`~streamscope.query.moderation.page_moderation` / :func:`~streamscope.query.rooms.page_rooms`).
A live ingest writes every few hundred ms, and reading the whole timeline on each change would cost
more than the page queries it saves: a changed timeline is read again ``min_reload_s`` after the last
read when that one served later pages, else after twice the previous wait (up to ``max_reload_s``).
So while the tables are being written, pages cost what they cost without this module.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from streamscope.query.moderation import Moderation, all_moderation
from streamscope.query.rooms import RoomTimeline, all_rooms
from streamscope.warehouse.shared import Warehouse

#: Timelines kept per kind (moderation, rooms).
MAX_CHANNELS = 32
#: Rows (actions or ROOMSTATEs) of a channel above which its timeline is not kept.
MAX_ROWS = 50_000
#: A kept timeline whose table changed is read again at most this often; pages in between read per page.
MIN_RELOAD_S = 1.0
#: The longest wait before reading again a timeline whose last reads served no page (a table written
#: all the time).
MAX_RELOAD_S = 60.0

T = TypeVar("T")


@dataclass(slots=True)
class _Kept(Generic[T]):
    version: Hashable
    value: T | None  # None: the channel has more than max_rows rows
    loaded_at: float
    wait_s: float  # after loaded_at, a changed table may be read whole again
    used: bool = False  # served a page after the one that read it


class Timelines:
    """The kept timelines of one :class:`Warehouse` (see the module docstring); thread-safe."""

    def __init__(
        self,
        warehouse: Warehouse,
        max_channels: int = MAX_CHANNELS,
        max_rows: int = MAX_ROWS,
        min_reload_s: float = MIN_RELOAD_S,
        max_reload_s: float = MAX_RELOAD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._warehouse = warehouse
        self._max_channels = max_channels
        self._max_rows = max_rows
        self._min_reload_s = min_reload_s
        self._max_reload_s = max_reload_s
        self._clock = clock
        self._lock = threading.Lock()
        self._moderation: OrderedDict[int, _Kept[Moderation]] = OrderedDict()
        self._rooms: OrderedDict[int, _Kept[RoomTimeline]] = OrderedDict()

    def moderation(self, channel_id: int) -> Moderation | None:
        """Every moderation action of the channel as it is now, or None: read per page."""
        return self._get(self._moderation, "chat_events", channel_id, all_moderation)

    def rooms(self, channel_id: int) -> RoomTimeline | None:
        """Every ROOMSTATE of the channel as it is now, or None: read per page."""
        return self._get(self._rooms, "room_states", channel_id, all_rooms)

    def _get(
        self,
        kept: OrderedDict[int, _Kept[T]],
        table: str,
        channel_id: int,
        load: Callable[[Warehouse, int, int], T | None],
    ) -> T | None:
        # The version first: rows read after it are at least as new, so an equal version later
        # proves them current (Warehouse.version).
        version = self._warehouse.version(table)
        if version is None:
            return None
        now = self._clock()
        wait = self._min_reload_s
        with self._lock:
            entry = kept.get(channel_id)
            if entry is not None:
                kept.move_to_end(channel_id)
                if entry.version == version:
                    # Worth keeping: once the table changes, it is read again after the shortest wait.
                    entry.used = True
                    entry.wait_s = self._min_reload_s
                    return entry.value
                if now - entry.loaded_at < entry.wait_s:
                    return None
                if not entry.used:
                    wait = min(max(entry.wait_s, wait) * 2, self._max_reload_s)
        value = load(self._warehouse, channel_id, self._max_rows)
        with self._lock:
            kept[channel_id] = _Kept(version, value, now, wait)
            kept.move_to_end(channel_id)
            while len(kept) > self._max_channels:
                kept.popitem(last=False)
        return value


_BY_WAREHOUSE: weakref.WeakKeyDictionary[Warehouse, Timelines] = weakref.WeakKeyDictionary()
_BY_WAREHOUSE_LOCK = threading.Lock()


def timelines(warehouse: Warehouse) -> Timelines:
    """The :class:`Timelines` of ``warehouse`` (one per handle, made on first use)."""
    with _BY_WAREHOUSE_LOCK:
        found = _BY_WAREHOUSE.get(warehouse)
        if found is None:
            found = _BY_WAREHOUSE[warehouse] = Timelines(
                warehouse, MAX_CHANNELS, MAX_ROWS, MIN_RELOAD_S, MAX_RELOAD_S
            )
        return found
