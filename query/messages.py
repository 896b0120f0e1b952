"""The messages reader: keyset pages of ``chat_messages`` for one channel, shared by ``/v1.0`` chat
and ``/v1`` messages, each message rendered in the route's shape (:mod:`streamscope.query.render`)
with its moderation marks; the ``/v1.0`` shape also reads the page's room modes
(:func:`streamscope.query.rooms.page_rooms`, one more query).

Every page is ``WHERE channel_id = ... AND <range> ORDER BY sent_at, message_id LIMIT n+1`` with
FINAL, so duplicates are invisible and a page is a range of the primary key: a page a million rows
deep reads the same few granules as the first. The extra row only tells whether a next page exists.
The cursor is written as ``sent_at >= ts AND (sent_at > ts OR message_id > id)`` rather than a
tuple comparison because the key analysis turns the ``sent_at >= ts`` conjunct into a primary-key
range (see ``bench/api_pages.py``).

Ties: rows with the same ``sent_at`` come in ClickHouse's UUID order, which compares the last
8 bytes of the UUID before the first 8 — clients only see it through stable, gap-free paging.

Cost: with chDB every query costs a few ms of planning whatever it reads (``bench/api_pages.py``
prints the page against the bare rows query), so a page is one query when it can: the rows query
(only the columns its shape uses; unfiltered, on one engine thread and through the uncompressed
cache), with the channel's moderation and room timelines kept between pages while their tables are
unchanged (:mod:`streamscope.query.timelines`). When they cannot be kept (a table being written, a
huge channel), the moderation query and (``/v1.0``) the room query follow, those two at the same time
(:meth:`~streamscope.warehouse.shared.Warehouse.both`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from streamscope.query import cursor as cursors
from streamscope.query.moderation import page_moderation
from streamscope.query.render import message_object, seed_message_object
from streamscope.query.rooms import page_rooms
from streamscope.query.stored import MESSAGE_SELECT, SEED_MESSAGE_SELECT
from streamscope.query.timelines import timelines
from streamscope.warehouse.rows import MessageRow
from streamscope.warehouse.shared import Warehouse

CURSOR_SCOPE = "messages"

_KEYSET_SETTINGS = {"max_threads": 1, "use_uncompressed_cache": 1}

#: The message shapes a page renders: ``v1`` (:func:`message_object`), ``seed`` (``/v1.0``,
#: :func:`seed_message_object`).
Shape = Literal["v1", "seed"]

# ClickHouse's token splitter: a token is a maximal run of ASCII alphanumerics or non-ASCII bytes.
_TOKEN = re.compile(r"[0-9A-Za-z\u0080-\U0010ffff]+")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Filters of one page; all optional except the channel."""

    channel_id: int
    start_ms: int | None = None
    end_ms: int | None = None
    after: cursors.Position | None = None
    user_id: int | None = None
    user_login: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[dict[str, Any]]
    cursor: str | None


def text_condition(q: str, params: dict[str, Any]) -> str:
    """SQL for the full-text filter ``q``, binding its values into ``params``.

    One token (``PogChamp``): ``hasToken(lower(text), 'pogchamp')``, served by the tokenbf_v1 index on
    ``lower(text)`` — whole-word, ASCII case-insensitive. Anything else (``good game``, ``gg!``):
    every token must be present (index-served) AND the whole phrase must occur, case-insensitively,
    as a substring. ``lower()`` in ClickHouse folds ASCII only, so the needle is folded the same way.
    """
    tokens = _TOKEN.findall(q)
    folded = [t.translate(_ASCII_UPPER) for t in tokens]
    parts = []
    for i, token in enumerate(dict.fromkeys(folded)):
        params[f"tok{i}"] = token
        parts.append(f"hasToken(lower(text), {{tok{i}:String}})")
    if len(tokens) != 1 or tokens[0] != q:
        params["phrase"] = q
        parts.append("positionCaseInsensitiveUTF8(text, {phrase:String}) > 0")
    return " AND ".join(parts)


def fetch_page(warehouse: Warehouse, query: MessageQuery, limit: int, shape: Shape = "v1") -> MessagePage:
    """Up to ``limit`` message objects in ``shape`` (moderation marks applied), oldest first, and the
    cursor of the next page (None when this page holds the last matching row)."""
    params: dict[str, Any] = {"cid": query.channel_id, "n": limit + 1}
    where = ["channel_id = {cid:UInt64}"]
    where += cursors.keyset_conditions(
        "sent_at", "message_id", query.start_ms, query.end_ms, query.after, params
    )
    # Plain equality on one column so the bloom_filter index of that column can skip granules.
    if query.user_id is not None:
        params["uid"] = query.user_id
        where.append("user_id = {uid:UInt64}")
    if query.user_login is not None:
        params["ulogin"] = query.user_login
        where.append("user_login = {ulogin:String}")
    if query.text is not None:
        where.append(text_condition(query.text, params))
    columns = SEED_MESSAGE_SELECT if shape == "seed" else MESSAGE_SELECT
    sql = (
        f"SELECT {columns} FROM chat_messages FINAL WHERE {' AND '.join(where)} "
        "ORDER BY sent_at, message_id LIMIT {n:UInt32}"
    )
    filtered = query.user_id is not None or query.user_login is not None or query.text is not None
    # Unfiltered, a page reads n+1 rows in key order: a second engine thread only adds its setup
    # (~2-3 ms of CPU per page, bench/api_pages.py), and the granules it decompresses are mostly the
    # next page's too (the uncompressed cache). A filtered page may scan: all threads, no cache.
    settings = None if filtered else _KEYSET_SETTINGS
    rows = [MessageRow._make(row) for row in warehouse.rows(sql, params, settings)]
    page = rows[:limit]
    cid = query.channel_id
    kept = timelines(warehouse) if page else None
    moderation = kept.moderation(cid) if kept is not None else None
    if shape == "seed":
        rooms = kept.rooms(cid) if kept is not None else None
        if moderation is None and rooms is None:
            # Both read by the page's keys only: at the same time, a page waits for the longer one.
            moderation, rooms = warehouse.both(
                lambda: page_moderation(warehouse, cid, page), lambda: page_rooms(warehouse, cid, page)
            )
        if moderation is None:
            moderation = page_moderation(warehouse, cid, page)
        if rooms is None:
            rooms = page_rooms(warehouse, cid, page)
        objects = [
            seed_message_object(m, moderation.marks(m.message_id, m.user_id, m.sent_at), rooms.at(m.sent_at))
            for m in page
        ]
    else:
        if moderation is None:
            moderation = page_moderation(warehouse, cid, page)
        objects = [message_object(m, moderation.marks(m.message_id, m.user_id, m.sent_at)) for m in page]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = cursors.encode(CURSOR_SCOPE, page[-1].sent_at, page[-1].message_id)
    return MessagePage(objects, next_cursor)
