"""The moments reader: one channel's hype moments (table ``chat_moments``, migration 0005), oldest
first, keyset-paginated by start, for ``GET /v1/channels/{channel}/moments``.

A moment object: ``id`` (``"<channel id>-<start ms>"``), ``start``, ``end``, ``peak`` (epoch ms),
``peak_rate``, ``baseline_rate`` (messages per minute), ``score``, ``chatters``, ``top_emotes``
``[{name, count}]``, ``samples`` (the sample messages as ``/messages`` items, moderation marks
applied), ``stream_id`` (null outside a known session) and ``transcript``: the transcript segments
around the peak (30 s each side) from :func:`streamscope.query.transcripts.transcript_around`, the
transcription feature's reader (``[]`` while no transcript covers it), called in :func:`transcript_near`.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from streamscope.query import cursor as cursors
from streamscope.query import streams
from streamscope.query.db import DB, rows_of
from streamscope.query.moderation import page_moderation
from streamscope.query.render import message_object
from streamscope.query.stats import session_chat
from streamscope.query.stored import MESSAGE_SELECT
from streamscope.query.transcripts import transcript_around
from streamscope.warehouse.rows import MessageRow
from streamscope.warehouse.shared import Warehouse

CURSOR_SCOPE = "moments"
_NO_ID = "00000000-0000-0000-0000-000000000000"
#: Transcript read around a moment's peak: this long before and after it.
TRANSCRIPT_BEFORE_MS = 30_000
TRANSCRIPT_AFTER_MS = 30_000

_COLUMNS = (
    "toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), toUnixTimestamp64Milli(peak), "
    "peak_rate, baseline_rate, score, chatters, top_emotes, arrayMap(x -> toString(x), sample_message_ids), "
    "stream_id"
)


class MomentRecord(NamedTuple):
    """The ``chat_moments`` columns a moment object is made of (:data:`_COLUMNS`, in order)."""

    start: int
    end: int
    peak: int
    peak_rate: float
    baseline_rate: float
    score: float
    chatters: int
    top_emotes: list[Any]
    sample_ids: list[str]
    stream_id: str


class MomentPage(NamedTuple):
    """One page of moment objects and the cursor of the next page (None on the last)."""

    moments: list[dict[str, Any]]
    cursor: str | None


def moment_records(
    client: DB, channel_id: int, start_ms: int | None, end_ms: int | None, after_ms: int | None, limit: int
) -> list[MomentRecord]:
    """Up to ``limit`` stored moments starting in ``[start_ms, end_ms)`` after ``after_ms``, oldest first."""
    params: dict[str, Any] = {"cid": channel_id, "n": limit}
    where = ["channel_id = {cid:UInt64}"] + cursors.keyset_conditions(
        "start", "start", start_ms, end_ms, None, params
    )
    if after_ms is not None:
        params["after"] = after_ms
        where.append("start > fromUnixTimestamp64Milli({after:Int64}, 'UTC')")
    sql = (
        f"SELECT {_COLUMNS} FROM chat_moments FINAL WHERE {' AND '.join(where)} "
        "ORDER BY start LIMIT {n:UInt32}"
    )
    return [MomentRecord._make(r) for r in rows_of(client, sql, params)]


def _samples(client: DB, channel_id: int, records: list[MomentRecord]) -> dict[str, dict[str, Any]]:
    ids = sorted({i for r in records for i in r.sample_ids})
    if not ids:
        return {}
    rows = [
        MessageRow._make(r)
        for r in rows_of(
            client,
            f"SELECT {MESSAGE_SELECT} FROM chat_messages FINAL WHERE channel_id = {{cid:UInt64}} "
            "AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
            "AND sent_at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND message_id IN {ids:Array(UUID)} "
            "ORDER BY sent_at, message_id",
            {
                "cid": channel_id,
                "lo": min(r.start for r in records),
                "hi": max(r.end for r in records),
                "ids": ids,
            },
        )
    ]
    if isinstance(client, Warehouse):
        moderation = page_moderation(client, channel_id, rows)
    else:
        wrapped = Warehouse(client, readers=1)
        try:
            moderation = page_moderation(wrapped, channel_id, rows)
        finally:
            wrapped.close()
    return {
        str(m.message_id): message_object(m, moderation.marks(m.message_id, m.user_id, m.sent_at))
        for m in rows
    }


def transcript_near(client: DB, channel_id: int, at_ms: int) -> list[dict[str, Any]]:
    """The transcript segments overlapping 30 s either side of ``at_ms`` (``[]`` without transcripts):
    :func:`streamscope.query.transcripts.transcript_around`, the transcription feature's reader."""
    return transcript_around(client, channel_id, at_ms, TRANSCRIPT_BEFORE_MS, TRANSCRIPT_AFTER_MS)


def _emote(item: Any) -> dict[str, Any]:
    """A stored ``Tuple(name, count)``: clickhouse-connect gives named tuples as dicts."""
    if isinstance(item, dict):
        return {"name": str(item["name"]), "count": int(item["count"])}
    return {"name": str(item[0]), "count": int(item[1])}


def moment_object(
    channel_id: int, r: MomentRecord, samples: dict[str, dict[str, Any]], transcript: list[Any]
) -> dict[str, Any]:
    """The API object of one moment (see the module docstring)."""
    return {
        "id": f"{channel_id}-{r.start}",
        "start": r.start,
        "end": r.end,
        "peak": r.peak,
        "peak_rate": float(r.peak_rate),
        "baseline_rate": float(r.baseline_rate),
        "score": float(r.score),
        "chatters": int(r.chatters),
        "top_emotes": [_emote(t) for t in r.top_emotes],
        "samples": [samples[i] for i in r.sample_ids if i in samples],
        "stream_id": r.stream_id or None,
        "transcript": transcript,
    }


def moments_page(
    client: DB,
    channel_id: int,
    start_ms: int | None,
    end_ms: int | None,
    cursor: cursors.Position | None,
    limit: int,
) -> MomentPage:
    """Moments starting in ``[start_ms, end_ms)`` after ``cursor``, oldest first, at most ``limit``,
    and the cursor of the next page (None on the last)."""
    records = moment_records(
        client, channel_id, start_ms, end_ms, cursor.ts_ms if cursor else None, limit + 1
    )
    page = records[:limit]
    samples = _samples(client, channel_id, page) if page else {}
    moments = [
        moment_object(channel_id, r, samples, transcript_near(client, channel_id, r.peak)) for r in page
    ]
    next_cursor = cursors.encode(CURSOR_SCOPE, page[-1].start, _NO_ID) if len(records) > limit else None
    return MomentPage(moments, next_cursor)


def peak_moment(client: DB, channel_id: int, start_ms: int, end_ms: int) -> dict[str, Any] | None:
    """The highest-scoring moment starting in ``[start_ms, end_ms)`` (earliest on ties), without
    samples or transcript, or None."""
    rows = rows_of(
        client,
        f"SELECT {_COLUMNS} FROM chat_moments FINAL WHERE channel_id = {{cid:UInt64}} "
        "AND start >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND start < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') ORDER BY score DESC, start LIMIT 1",
        {"cid": channel_id, "lo": start_ms, "hi": end_ms},
    )
    if not rows:
        return None
    obj = moment_object(channel_id, MomentRecord._make(rows[0]), {}, [])
    del obj["samples"], obj["transcript"]
    return obj


def session_detail(client: Warehouse, channel_id: int, login: str, stream_id: str) -> dict[str, Any]:
    """:func:`streamscope.query.streams.session` plus ``chat_rate`` (messages per minute over the
    1-minute stats windows starting in the session), ``top_emotes`` of those windows and
    ``peak_moment`` (the highest-scoring moment starting in the session, or null)."""
    obj = streams.session(client, channel_id, login, stream_id)
    end = obj["ended_at"] if obj["ended_at"] is not None else int(time.time() * 1000)
    chat = session_chat(client, channel_id, obj["started_at"], end)
    obj["chat_rate"] = chat.messages_per_min
    obj["top_emotes"] = [{"name": n, "count": c} for n, c in chat.top_emotes]
    obj["peak_moment"] = peak_moment(client, channel_id, obj["started_at"], end)
    return obj
