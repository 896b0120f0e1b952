"""Export a channel's archive (``chat_messages`` and ``chat_events``) to a chat file, with flat memory.

One code path serves ``GET /v1/channels/{channel}/export`` and ``streamscope export``:
:meth:`ArchiveExport.chunks` yields the file's bytes block by block. The file holds the channel's
chat messages and its user-visible events (subs, resubs, gifts, raids, announcements, timeouts, bans,
clears, deletions), merged in time order, each the :class:`FileMessage` a live capture of the same raw
line gives (:func:`streamscope.sinks.files.messages_from_lines`), plus moderation marks on messages.

Messages are read with server-side streamed queries (clickhouse-connect block streams: blocks of at
most ``max_block_size`` rows, never a list of all rows), in key order ``(sent_at, message_id)`` with
FINAL, so duplicates are invisible and the order is the one every API page uses. Events are read in
pages that cut the export into time windows (:mod:`streamscope.sinks.files.archive_events`); each window's
messages are streamed and its events merged in by a bisect per event. For json, jsonl, csv and txt
ClickHouse builds each message's record itself (:mod:`streamscope.sinks.files.archive_sql`, byte-equal to the
Python writers) and the events' records come from the Python writer; for irc and twitchdownloader
(or ``fast=False``) each block is converted to :class:`FileMessage` objects. Either way the merged
block goes through the :func:`open_writer` writer into a buffer and is yielded; memory is one block
of messages plus one page of events whatever the size of the export.

Moderation marks (``deleted``/``timed_out``/``banned``, the rule of :mod:`~streamscope.api.moderation`)
come from
one query over ``chat_events`` made before the stream starts: the channel's deletions, timeouts and
bans at or after the export's start. That is O(moderation events), which is small next to the
messages (ClickHouse cannot run a second query on the same client while the stream is open).
Events carry no marks (null): they describe what happened to chat messages.
"""

from __future__ import annotations

import bisect
import io
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client
from streamscope.sinks.files import archive_sql, open_writer
from streamscope.sinks.files.archive_events import EVENT_PAGE, USERNOTICES, VISIBLE, EventPage, event_page
from streamscope.sinks.files.convert import ARCHIVE_COLUMNS, RAW_COLUMNS, chat_message
from streamscope.sinks.files.schema import FileMessage
from streamscope.sinks.files.writers import BaseWriter

from streamscope.twitch.irc.rows import rebuild_message_line

#: Rows per streamed block (ClickHouse ``max_block_size``): the unit of memory and of progress.
BLOCK_ROWS = 16384
#: Formats whose lines ClickHouse builds itself (:mod:`streamscope.sinks.files.archive_sql`).
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
    """Moderation actions of one channel: deleted message ids (and ``deletions``, the same as sorted
    ``(at, id)``), per-user timeout/ban timelines."""

    deleted: set[str] = field(default_factory=set)
    actions: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    deletions: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def load(cls, client: Client, channel_id: int, since_ms: int | None) -> Marks:
        rows = client.query(_MARKS_SQL, parameters={"cid": channel_id, "lo": since_ms or 0}).result_rows
        marks = cls()
        timelines: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for kind, target_user, target_msg, at_ms in rows:
            if kind == "delete":
                marks.deleted.add(target_msg)
                marks.deletions.append((int(at_ms), target_msg))
            elif target_user:
                timelines[int(target_user)].append((int(at_ms), kind))
        for timeline in timelines.values():
            timeline.sort()
        marks.deletions.sort()
        marks.actions = dict(timelines)
        return marks

    def window(self, lo: int | None, hi: int | None) -> Marks:
        """The marks that can concern messages sent in ``[lo, hi)``: deletions at or after ``lo`` and,
        per user, the actions in ``[lo, hi)`` plus the first one at or after ``hi``. Each window of an
        export binds only these into its query: all of them in every window would cost
        O(moderation actions x windows)."""
        if lo is None and hi is None:
            return self
        start = (lo if lo is not None else -1, "")
        deletions = self.deletions[bisect.bisect_left(self.deletions, start) :]
        actions: dict[int, list[tuple[int, str]]] = {}
        for user, timeline in self.actions.items():
            i = bisect.bisect_left(timeline, start)
            j = len(timeline) if hi is None else bisect.bisect_left(timeline, (hi, "")) + 1
            if i < min(j, len(timeline)):
                actions[user] = timeline[i:j]
        return Marks({mid for _, mid in deletions}, actions, deletions)

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
    """One export of ``query`` in format ``fmt`` (one of :data:`streamscope.sinks.files.FORMATS`).

    The file holds the channel's chat messages and, unless ``events=False``, its user-visible events
    (:mod:`streamscope.sinks.files.archive_events`), merged in time order: by millisecond, a millisecond's
    messages (in key order) before its events (in key order). Iterate :meth:`chunks` once;
    ``messages``, ``events``, ``rows`` (both) and ``bytes`` count what was yielded so far, and
    ``on_block(rows, bytes)`` (if given) is called after each chunk, e.g. for a progress bar.
    The client is used exclusively while the stream is open (the caller serialises access).
    json, jsonl, csv and txt message records are built by ClickHouse (``fast``, :mod:`archive_sql`)
    unless ``fast=False`` asks for the Python writers (same output; the tests compare both).
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
        events: bool = True,
        event_page_rows: int = EVENT_PAGE,
    ) -> None:
        self.client = client
        self.fast = fast and fmt in SQL_FORMATS
        self.query = query
        self.fmt = fmt
        self.block_rows = block_rows
        self.on_block = on_block
        self.include_events = events
        self.event_page_rows = event_page_rows
        self.messages = 0
        self.events = 0
        self.rows = 0
        self.bytes = 0
        self.blocks = 0

    def sql(self, params: dict[str, Any], query: ArchiveQuery | None = None) -> str:
        """The Python path's query over chat_messages (``query``: a window of the export's query)."""
        columns = ARCHIVE_COLUMNS + RAW_COLUMNS if self.fmt == "irc" else ARCHIVE_COLUMNS
        where = (query or self.query).where(params)
        return (
            f"SELECT {', '.join(columns)} FROM chat_messages FINAL WHERE {where} ORDER BY sent_at, message_id"
        )

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes: the header (if any) with the first chunk, then one chunk per block of
        messages (with the events of its time merged in) and per run of events after a window's
        last message."""
        q = self.query
        sink = _Chunks()
        writer = open_writer(self.fmt, sink, channel=q.channel, start_ms=q.start_ms)  # type: ignore[arg-type]
        assert isinstance(writer, BaseWriter)
        marks = Marks.load(self.client, q.channel_id, q.start_ms)
        # TwitchDownloader has no moderation comments: its writer would drop them anyway.
        visible = USERNOTICES if self.fmt == "twitchdownloader" else VISIBLE
        window = q
        while True:
            # The next page of events fixes where this window of messages ends; it is read before
            # the messages' stream opens (one client runs one query at a time).
            page = (
                event_page(self.client, window, visible=visible, page=self.event_page_rows)
                if self.include_events
                else EventPage([], None)
            )
            bounded = window if page.end_ms is None else replace(window, end_ms=page.end_ms)
            yield from self._window(bounded, page.events, writer, sink, marks)
            if page.end_ms is None:
                break
            window = replace(window, start_ms=page.end_ms)
        writer.close()
        tail = sink.take()
        if tail:
            yield self._count(tail, 0, 0)

    def _window(
        self, q: ArchiveQuery, events: list[FileMessage], writer: BaseWriter, sink: _Chunks, marks: Marks
    ) -> Iterator[bytes]:
        """The messages of window ``q`` streamed block by block, ``events`` (of the same window)
        merged in."""
        marks = marks.window(q.start_ms, q.end_ms)
        params: dict[str, Any] = {}
        # One reading thread: rows come in key order from one stream, which ClickHouse neither has
        # to merge nor buffer per thread; peak memory then stays flat with size (bench/export.py)
        # and the export is faster, since Python, not ClickHouse, is the bottleneck.
        settings: dict[str, Any] = {"max_block_size": self.block_rows, "max_threads": 1}
        if self.fast:
            # Records as bytes (UTF-8 already: no decode/encode); their times only when there are
            # events to place among them.
            sql = archive_sql.select(
                self.fmt, q.where(params), params, marks.deleted, marks.actions, with_ms=bool(events)
            )
            settings.update(archive_sql.SETTINGS)
            records: deque[tuple[int, bytes]] = deque(
                zip([e.timestamp for e in events], writer.records(events), strict=True)
            )
            events.clear()  # only the records are needed now; the page's objects can go
            with self.client.query_column_block_stream(
                sql, parameters=params, settings=settings, column_formats={"x_record": "bytes"}
            ) as columns:
                for block in columns:
                    n = len(block[0])
                    merged, k = _merge(block[0], block[1] if records else (), records)
                    writer.write_records(merged)
                    yield self._count(sink.take(), n, k)
            if records:
                writer.write_records([r for _, r in records])
                yield self._count(sink.take(), 0, len(records))
            return
        convert = _converter(self.fmt)
        pending: deque[tuple[int, FileMessage]] = deque((e.timestamp, e) for e in events)
        sql = self.sql(params, q)
        with self.client.query_row_block_stream(sql, parameters=params, settings=settings) as rows:
            for block in rows:
                messages = [convert(row) for row in block]
                for m in messages:
                    marks.apply(m)
                merged_messages, k = _merge(messages, [m.timestamp for m in messages], pending)
                writer.write(merged_messages)
                yield self._count(sink.take(), len(messages), k)
        if pending:
            writer.write([e for _, e in pending])
            yield self._count(sink.take(), 0, len(pending))

    def _count(self, data: bytes, messages: int, events: int) -> bytes:
        self.messages += messages
        self.events += events
        self.rows += messages + events
        self.bytes += len(data)
        self.blocks += 1
        if self.on_block is not None:
            self.on_block(self.rows, self.bytes)
        return data


T = TypeVar("T")


def _merge(
    items: Sequence[T], times: Sequence[int], pending: deque[tuple[int, T]]
) -> tuple[Sequence[T], int]:
    """``items`` (in time order, ``times``) with the ``pending`` events at or before their last time
    merged in, each after the items of its millisecond; pops those events; returns how many.

    Events are sparse next to chat, so a block costs one bisect per event, not a step per row."""
    if not pending or not times or pending[0][0] > times[-1]:
        return items, 0
    last = times[-1]
    out: list[T] = []
    i = k = 0
    while pending and pending[0][0] <= last:
        at, event = pending.popleft()
        j = bisect.bisect_right(times, at, i)
        out.extend(items[i:j])
        out.append(event)
        i = j
        k += 1
    out.extend(items[i:])
    return out, k


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
