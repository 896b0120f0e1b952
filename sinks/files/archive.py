"""Export a channel's archive (``chat_messages``) to a chat file, streamed with flat memory.

One code path serves ``GET /v1/channels/{channel}/export`` and ``streamscope export``:
:meth:`ArchiveExport.chunks` yields the file's bytes block by block. Messages are read with one
server-side streamed query (clickhouse-connect ``query_row_block_stream``: blocks of at most
``max_block_size`` rows, never a list of all rows), in key order ``(sent_at, message_id)`` with
FINAL, so duplicates are invisible and the order is the one every API page uses. For json, jsonl,
csv and txt ClickHouse builds each message's record itself (:mod:`sinks.files.archive_sql`, byte-equal
to the Python writers); for irc and twitchdownloader (or ``fast=False``) each block is converted to
:class:`FileMessage` objects. Either way the block goes through the :func:`open_writer` writer into a
buffer and is yielded; memory is one block whatever the size of the export.

Moderation marks (``deleted``/``timed_out``/``banned``, the rule of :mod:`api.moderation`) come from
one query over ``chat_events`` made before the stream starts: the channel's deletions, timeouts and
bans at or after the export's start. That is O(moderation events), which is small next to the
messages (ClickHouse cannot run a second query on the same client while the stream is open).
"""

from __future__ import annotations

import bisect
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from sinks.files import archive_sql, open_writer
from sinks.files.convert import ARCHIVE_COLUMNS, RAW_COLUMNS, chat_message
from sinks.files.schema import FileMessage
from sinks.files.writers import BaseWriter
from streamscope.twitch.irc.rows import rebuild_message_line

#: Rows per streamed block (ClickHouse ``max_block_size``): the unit of memory and of progress.
BLOCK_ROWS = 16384
#: Formats whose lines ClickHouse builds itself (:mod:`sinks.files.archive_sql`).
SQL_FORMATS = frozenset({"json", "jsonl", "csv", "txt"})

_MARKS_SQL = """
SELECT toString(kind) AS kind_str, target_user_id, target_message_id, toUnixTimestamp64Milli(at) AS at_ms
FROM chat_events FINAL
WHERE channel_id = {cid:UInt64} AND kind IN ('delete', 'timeout', 'ban')
  AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
"""


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """What to export: one channel, an optional time range ``[start_ms, end_ms)`` and user."""

    channel_id: int
    channel: str
    start_ms: int | None = None
    end_ms: int | None = None
    user_id: int | None = None
    user_login: str | None = None

    def where(self, params: dict[str, Any]) -> str:
        """The WHERE clause over chat_messages, binding values into ``params``."""
        params["cid"] = self.channel_id
        conds = ["channel_id = {cid:UInt64}"]
        if self.start_ms is not None:
            params["start"] = self.start_ms
            conds.append("sent_at >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')")
        if self.end_ms is not None:
            params["end"] = self.end_ms
            conds.append("sent_at < fromUnixTimestamp64Milli({end:Int64}, 'UTC')")
        # Plain equality on one column so its bloom_filter index can skip granules.
        if self.user_id is not None:
            params["uid"] = self.user_id
            conds.append("user_id = {uid:UInt64}")
        if self.user_login is not None:
            params["ulogin"] = self.user_login
            conds.append("user_login = {ulogin:String}")
        return " AND ".join(conds)


@dataclass(slots=True)
class Marks:
    """Moderation actions of one channel: deleted message ids, per-user timeout/ban timelines."""

    deleted: set[str] = field(default_factory=set)
    actions: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, client: Client, channel_id: int, since_ms: int | None) -> Marks:
        rows = client.query(_MARKS_SQL, parameters={"cid": channel_id, "lo": since_ms or 0}).result_rows
        marks = cls()
        timelines: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for kind, target_user, target_msg, at_ms in rows:
            if kind == "delete":
                marks.deleted.add(target_msg)
            elif target_user:
                timelines[int(target_user)].append((int(at_ms), kind))
        for timeline in timelines.values():
            timeline.sort()
        marks.actions = dict(timelines)
        return marks

    def of(self, message_id: str, user_id: int, ms: int) -> tuple[bool, bool, bool]:
        """``(deleted, timed_out, banned)`` of a message: the first timeout/ban of its author at or
        after it counts."""
        deleted = message_id in self.deleted
        timeline = self.actions.get(user_id) if user_id else None
        if timeline:
            i = bisect.bisect_left(timeline, (ms, ""))
            if i < len(timeline):
                kind = timeline[i][1]
                return deleted, kind == "timeout", kind == "ban"
        return deleted, False, False

    def apply(self, m: FileMessage) -> None:
        """Set the marks of ``m``: the first timeout/ban of its author at or after it counts."""
        m.deleted, m.timed_out, m.banned = self.of(m.message_id, m.author.id or 0, m.timestamp)


class _Chunks(io.RawIOBase):
    """A write-only binary file that hands what was written to :meth:`take`."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class ArchiveExport:
    """One export of ``query`` in format ``fmt`` (one of :data:`sinks.files.FORMATS`).

    Iterate :meth:`chunks` once; ``rows`` and ``bytes`` count what was yielded so far, and
    ``on_block(rows, bytes)`` (if given) is called after each block, e.g. for a progress bar.
    The client is used exclusively while the stream is open (the caller serialises access).
    json, jsonl, csv and txt lines are built by ClickHouse (``fast``, :mod:`archive_sql`) unless
    ``fast=False`` asks for the Python writers (same output; the tests compare both).
    """

    def __init__(
        self,
        client: Client,
        query: ArchiveQuery,
        fmt: str,
        *,
        block_rows: int = BLOCK_ROWS,
        on_block: Callable[[int, int], None] | None = None,
        fast: bool = True,
    ) -> None:
        self.client = client
        self.fast = fast and fmt in SQL_FORMATS
        self.query = query
        self.fmt = fmt
        self.block_rows = block_rows
        self.on_block = on_block
        self.rows = 0
        self.bytes = 0
        self.blocks = 0

    def sql(self, params: dict[str, Any]) -> str:
        columns = ARCHIVE_COLUMNS + RAW_COLUMNS if self.fmt == "irc" else ARCHIVE_COLUMNS
        return (
            f"SELECT {', '.join(columns)} FROM chat_messages FINAL WHERE {self.query.where(params)} "
            "ORDER BY sent_at, message_id"
        )

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes: the header (if any) with the first block, one chunk per block."""
        q = self.query
        sink = _Chunks()
        writer = open_writer(self.fmt, sink, channel=q.channel, start_ms=q.start_ms)  # type: ignore[arg-type]
        marks = Marks.load(self.client, q.channel_id, q.start_ms)
        params: dict[str, Any] = {}
        # One reading thread: rows come in key order from one stream, which ClickHouse neither has
        # to merge nor buffer per thread; peak memory then stays flat with size (bench/export.py)
        # and the export is faster, since Python, not ClickHouse, is the bottleneck.
        settings: dict[str, Any] = {"max_block_size": self.block_rows, "max_threads": 1}
        formats: dict[str, str | dict[str, str]] | None = None
        if self.fast:
            sql = archive_sql.select(self.fmt, q.where(params), params, marks.deleted, marks.actions)
            settings.update(archive_sql.SETTINGS)
            formats = {"x_record": "bytes"}  # the records are UTF-8 already: no decode/encode
        else:
            sql = self.sql(params)
            convert = _converter(self.fmt)
        stream = self.client.query_row_block_stream(
            sql, parameters=params, settings=settings, column_formats=formats
        )
        with stream:
            for block in stream:
                if self.fast:
                    assert isinstance(writer, BaseWriter)
                    writer.write_records([row[0] for row in block])
                else:
                    messages = [convert(row) for row in block]
                    for m in messages:
                        marks.apply(m)
                    writer.write(messages)
                yield self._count(sink.take(), len(block))
        writer.close()
        tail = sink.take()
        if tail:
            yield self._count(tail, 0)

    def _count(self, data: bytes, rows: int) -> bytes:
        self.rows += rows
        self.bytes += len(data)
        self.blocks += 1
        if self.on_block is not None:
            self.on_block(self.rows, self.bytes)
        return data


_RAW_KEYS = (
    "channel_id", "channel", "sent_at", "message_id", "user_id", "user_login", "display_name", "text",
    "is_action", "bits", "color", "badges", "emotes",
)  # fmt: skip


def _with_raw(row: tuple[Any, ...]) -> FileMessage:
    n = len(ARCHIVE_COLUMNS)
    stored = dict(zip(_RAW_KEYS, row, strict=False))
    stored["badge_info"], stored["tag_layout"], stored["tags"], stored["raw_fallback"] = row[n : n + 4]
    return chat_message(row, rebuild_message_line(stored))


def _converter(fmt: str) -> Callable[[Any], FileMessage]:
    return _with_raw if fmt == "irc" else chat_message
