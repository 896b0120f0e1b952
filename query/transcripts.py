"""The transcripts reader: what the streamer said, from ``transcript_segments`` (the transcripts
dataflow).

* :func:`transcript_page`: a channel's segments in ``[start, end)``, optionally those containing
  ``q``, oldest first, keyset-paginated by ``(start, segment_id)`` (never OFFSET): a page is a range
  of the table's primary key ``(channel_id, start)``.
* :func:`transcript_around`: the segments overlapping ``[at - before, at + after]`` (a chat moment,
  a message), oldest first.

Both read with FINAL, so a segment stored twice is seen once. Segments of a login whose id was not
known when they were written (``channel_id`` 0) are matched by login when ``login`` is given. Both
take the process's :class:`~streamscope.warehouse.shared.Warehouse` or a bare clickhouse-connect
client. ``q`` is a case-insensitive (ASCII letters) substring, served by the ngram index on
``lower(text)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamscope.query import cursor as cursors
from streamscope.query.db import DB, rows_of
from streamscope.query.errors import BadParameter

CURSOR_SCOPE = "transcript"
#: Most segments :func:`transcript_around` returns.
AROUND_LIMIT = 500
#: Longest ``before``/``after`` span of :func:`transcript_around`.
MAX_AROUND_MS = 6 * 3600 * 1000

_COLUMNS = """
    toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), toString(segment_id), text, stream_id,
    arrayMap(w -> (w.1, w.2, w.3, w.4), words), avg_logprob, no_speech_prob, language
"""
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class TranscriptPage:
    """Segment objects oldest first (see :func:`segment_object`) and the next page's cursor."""

    segments: list[dict[str, Any]]
    cursor: str | None


def segment_object(row: Any) -> dict[str, Any]:
    """``{"id", "start", "end", "text", "stream_id", "words": [{"word", "start", "end", "probability"}],
    "avg_logprob", "no_speech_prob", "language"}``: times epoch ms, ``stream_id`` null outside a
    known stream session."""
    start, end, sid, text, stream_id, words, avg_logprob, no_speech, language = row
    return {
        "id": sid,
        "start": int(start),
        "end": int(end),
        "text": text,
        "stream_id": stream_id or None,
        "words": [
            {"word": w[0], "start": int(w[1]), "end": int(w[2]), "probability": round(float(w[3]), 4)}
            for w in words
        ],
        "avg_logprob": round(float(avg_logprob), 4),
        "no_speech_prob": round(float(no_speech), 4),
        "language": language,
    }


def _channel(channel_id: int, login: str | None, params: dict[str, Any]) -> str:
    params["cid"] = channel_id
    if login:
        params["login"] = login
        return "(channel_id = {cid:UInt64} OR (channel_id = 0 AND channel = {login:String}))"
    return "channel_id = {cid:UInt64}"


def text_condition(q: str, params: dict[str, Any]) -> str:
    """``lower(text) LIKE '%q%'`` (ASCII case folded, wildcards in ``q`` escaped): the ngram index
    on ``lower(text)`` skips granules that cannot contain ``q``."""
    if not q.strip():
        raise BadParameter("q", "must not be empty")
    if len(q) > 200:
        raise BadParameter("q", "at most 200 characters")
    escaped = q.translate(_ASCII_LOWER).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params["pattern"] = f"%{escaped}%"
    return "lower(text) LIKE {pattern:String}"


def transcript_page(
    client: DB,
    channel_id: int,
    start_ms: int | None,
    end_ms: int | None,
    q: str | None,
    cursor: str | cursors.Position | None,
    limit: int,
    *,
    login: str | None = None,
) -> TranscriptPage:
    """Segments that start in ``[start_ms, end_ms)`` after ``cursor`` (a string from a previous page,
    or a decoded position), containing ``q`` when given, oldest first, at most ``limit``. A cursor
    that is not one of ours is a :class:`~streamscope.query.errors.QueryError` ``invalid_cursor``."""
    after = cursors.decode(CURSOR_SCOPE, cursor) if isinstance(cursor, str) else cursor
    params: dict[str, Any] = {"limit": limit + 1}
    where = [_channel(channel_id, login, params)]
    where += cursors.keyset_conditions("start", "segment_id", start_ms, end_ms, after, params)
    if q is not None:
        where.append(text_condition(q, params))
    rows = rows_of(
        client,
        f"SELECT {_COLUMNS} FROM transcript_segments FINAL WHERE {' AND '.join(where)}"
        " ORDER BY start, segment_id LIMIT {limit:UInt32}",
        params,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursors.encode(CURSOR_SCOPE, int(rows[-1][0]), rows[-1][2])
    return TranscriptPage([segment_object(r) for r in rows], next_cursor)


def transcript_around(
    client: DB,
    channel_id: int,
    at_ms: int,
    before_ms: int,
    after_ms: int,
    *,
    login: str | None = None,
) -> list[dict[str, Any]]:
    """The segments that overlap ``[at_ms - before_ms, at_ms + after_ms]``, oldest first (at most
    :data:`AROUND_LIMIT`; spans beyond :data:`MAX_AROUND_MS` are a
    :class:`~streamscope.query.errors.BadParameter`)."""
    if not (0 <= before_ms <= MAX_AROUND_MS and 0 <= after_ms <= MAX_AROUND_MS):
        raise BadParameter("before/after", f"must be between 0 and {MAX_AROUND_MS // 3_600_000} hours")
    params: dict[str, Any] = {"lo": at_ms - before_ms, "hi": at_ms + after_ms, "limit": AROUND_LIMIT}
    where = [
        _channel(channel_id, login, params),
        # A segment is at most a window long (30 s): bounding start keeps this a key range.
        "start >= fromUnixTimestamp64Milli({lo:Int64} - 60000, 'UTC')",
        "start <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')",
        "end >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')",
    ]
    rows = rows_of(
        client,
        f"SELECT {_COLUMNS} FROM transcript_segments FINAL WHERE {' AND '.join(where)}"
        " ORDER BY start, segment_id LIMIT {limit:UInt32}",
        params,
    )
    return [segment_object(r) for r in rows]


def transcript_gaps(
    client: DB, channel_id: int, start_ms: int, end_ms: int, *, login: str | None = None
) -> list[dict[str, Any]]:
    """The ``transcript_gaps`` rows (audio not transcribed) overlapping ``[start_ms, end_ms)``:
    ``{"start", "end", "reason"}``, oldest first, at most 1000."""
    params: dict[str, Any] = {"lo": start_ms, "hi": end_ms}
    where = [
        _channel(channel_id, login, params),
        "start < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')",
        "end > fromUnixTimestamp64Milli({lo:Int64}, 'UTC')",
    ]
    rows = rows_of(
        client,
        "SELECT toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), reason FROM transcript_gaps FINAL"
        f" WHERE {' AND '.join(where)} ORDER BY start LIMIT 1000",
        params,
    )
    return [{"start": int(a), "end": int(b), "reason": r} for a, b, r in rows]
