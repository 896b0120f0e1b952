"""Transcript lines for an archive export (``transcript=true`` / ``streamscope export --transcript``).

In ``txt`` and ``jsonl`` exports, what the streamer said can be interleaved with chat: each
transcript segment becomes a record of its own, ``message_type`` ``transcript``, at its start time,
written by the channel itself (author = the channel), ``message`` its text, ``message_id`` the
segment id. :func:`transcript_messages` reads the segments of one export window (with FINAL, in
start order) before the window's messages stream, the way events are read
(:mod:`streamscope.query.archive_events`); the archive merges them with the events in time order.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from streamscope.query.archive_query import ArchiveQuery
from streamscope.sinks.files.schema import Author, FileMessage

#: Formats whose exports can carry transcript lines.
TRANSCRIPT_FORMATS = ("txt", "jsonl")

_SQL = """
SELECT toString(segment_id), toUnixTimestamp64Milli(start), text FROM transcript_segments FINAL
WHERE (channel_id = {cid:UInt64} OR (channel_id = 0 AND channel = {login:String}))
  AND start >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
  AND start < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
ORDER BY start, segment_id
"""


def transcript_messages(
    client: Client, query: ArchiveQuery, start_ms: int | None, end_ms: int | None
) -> list[FileMessage]:
    """The transcript records of ``query``'s channel starting in ``[start_ms, end_ms)`` (open bounds:
    from the beginning / to the end), oldest first. A ``user`` filter that is not the channel itself
    keeps none: the streamer is the only speaker."""
    if query.user_id not in (None, query.channel_id) or query.user_login not in (None, query.channel):
        return []
    params = {
        "cid": query.channel_id,
        "login": query.channel,
        "lo": start_ms if start_ms is not None else 0,
        "hi": end_ms if end_ms is not None else 2**62,
    }
    author = Author(query.channel_id, query.channel, query.channel)
    return [
        FileMessage(
            message_id=str(sid),
            message=text,
            timestamp=int(at),
            message_type="transcript",
            channel=query.channel,
            channel_id=query.channel_id,
            author=author,
        )
        for sid, at, text in client.query(_SQL, parameters=params).result_rows
    ]
