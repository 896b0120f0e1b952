"""Export a channel's archive (``chat_messages`` and ``chat_events``) to a chat file, with flat memory.

One code path serves ``GET /v1/channels/{channel}/export`` and ``streamscope export``:
:meth:`ArchiveExport.chunks` yields the file's bytes block by block. The file holds the channel's
chat messages and its user-visible events (subs, resubs, gifts, raids, announcements, timeouts, bans,
clears, deletions), merged in time order, each the :class:`FileMessage` a live capture of the same raw
line gives (:func:`streamscope.sinks.files.messages_from_lines`), plus moderation marks on messages.

Messages are read with server-side streamed queries (clickhouse-connect block streams: blocks of at
most ``max_block_size`` rows, never a list of all rows), in key order ``(sent_at, message_id)`` with
FINAL, so duplicates are invisible and the order is the one every API page uses. Events are read in
pages that cut the export into time windows (:mod:`streamscope.query.archive_events`); each window's
messages are streamed and its events merged in by a bisect per event. Each message row becomes its
file record through the one converter of stored rows,
:func:`streamscope.sinks.files.convert.chat_message`, and each merged block goes through the
:func:`~streamscope.sinks.files.open_writer` writer into a buffer and is yielded; memory is one block
of messages plus one page of events whatever the size of the export.

Moderation marks (``deleted``/``timed_out``/``banned``: :mod:`streamscope.query.moderation`, the
rule the API applies too) come from one query over ``chat_events`` made before the stream starts:
the channel's actions at or after the export's start. That is O(moderation events), which is small
next to the messages (ClickHouse cannot run a second query on the same client while the stream is
open). Events carry no marks (null): they describe what happened to chat messages.
"""

from __future__ import annotations

import bisect
import io
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client

from streamscope.query.archive_events import EVENT_PAGE, USERNOTICES, VISIBLE, EventWindow, event_window
from streamscope.query.archive_query import ArchiveQuery
from streamscope.query.archive_transcript import TRANSCRIPT_FORMATS, transcript_messages
from streamscope.query.moderation import Moderation, channel_moderation
from streamscope.query.stored import MESSAGE_SELECT
from streamscope.sinks.files import MessageWriter, open_writer
from streamscope.sinks.files.convert import chat_message
from streamscope.sinks.files.schema import FileMessage
from streamscope.twitch.irc.rows import rebuild_message_line
from streamscope.warehouse.rows import MessageRow

__all__ = ["BLOCK_ROWS", "ArchiveExport", "file_message"]

#: Rows per streamed block (ClickHouse ``max_block_size``): the unit of memory and of progress.
BLOCK_ROWS = 16384


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


def file_message(row: MessageRow, moderation: Moderation, with_raw: bool) -> FileMessage:
    """The file record of a stored message with its moderation marks (``raw``: the rebuilt raw
    line, when ``with_raw``)."""
    m = chat_message(row, rebuild_message_line(row._asdict()) if with_raw else None)
    marks = moderation.marks(row.message_id, row.user_id, row.sent_at)
    m.deleted, m.timed_out, m.banned = marks.deleted, marks.timed_out, marks.banned
    return m


class ArchiveExport:
    """One export of ``query`` in format ``fmt`` (one of :data:`streamscope.sinks.files.FORMATS`).

    The file holds the channel's chat messages and, unless ``events=False``, its user-visible events
    (:mod:`streamscope.query.archive_events`), merged in time order: by millisecond, a millisecond's
    messages (in key order) before its events (in key order). Iterate :meth:`chunks` once;
    ``messages``, ``events``, ``rows`` (both) and ``bytes`` count what was yielded so far, and
    ``on_block(rows, bytes)`` (if given) is called after each chunk, e.g. for a progress bar.
    The client is used exclusively while the stream is open (the caller serialises access).
    """

    def __init__(
        self,
        client: Client,
        query: ArchiveQuery,
        fmt: str,
        *,
        block_rows: int = BLOCK_ROWS,
        on_block: Callable[[int, int], None] | None = None,
        events: bool = True,
        event_page_rows: int = EVENT_PAGE,
        transcript: bool = False,
    ) -> None:
        self.client = client
        self.query = query
        self.fmt = fmt
        self.block_rows = block_rows
        self.on_block = on_block
        self.include_events = events
        self.event_page_rows = event_page_rows
        #: Interleave transcript lines (txt, jsonl only: :mod:`streamscope.query.archive_transcript`).
        self.include_transcript = transcript and fmt in TRANSCRIPT_FORMATS
        self.messages = 0
        self.events = 0
        self.rows = 0
        self.bytes = 0
        self.blocks = 0

    def sql(self, params: dict[str, Any], query: ArchiveQuery | None = None) -> str:
        """The query over chat_messages (``query``: a window of the export's query)."""
        where = (query or self.query).where(params)
        return f"SELECT {MESSAGE_SELECT} FROM chat_messages FINAL WHERE {where} ORDER BY sent_at, message_id"

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes: the header (if any) with the first chunk, then one chunk per block of
        messages (with the events of its time merged in) and per run of events after a window's
        last message."""
        q = self.query
        sink = _Chunks()
        writer = open_writer(self.fmt, sink, channel=q.channel, start_ms=q.start_ms)  # type: ignore[arg-type]
        moderation = channel_moderation(self.client, q.channel_id, q.start_ms)
        # TwitchDownloader has no moderation comments: its writer would drop them anyway.
        visible = USERNOTICES if self.fmt == "twitchdownloader" else VISIBLE
        window = q
        while True:
            # The next page of events fixes where this window of messages ends; it is read before
            # the messages' stream opens (one client runs one query at a time).
            page = (
                event_window(self.client, window, visible=visible, page=self.event_page_rows)
                if self.include_events
                else EventWindow([], None)
            )
            bounded = window if page.end_ms is None else replace(window, end_ms=page.end_ms)
            if self.include_transcript:
                spoken = transcript_messages(self.client, q, bounded.start_ms, bounded.end_ms)
                page = EventWindow(sorted(page.events + spoken, key=lambda m: m.timestamp), page.end_ms)
            yield from self._window(bounded, page.events, writer, sink, moderation)
            if page.end_ms is None:
                break
            window = replace(window, start_ms=page.end_ms)
        writer.close()
        tail = sink.take()
        if tail:
            yield self._count(tail, 0, 0)

    def _window(
        self,
        q: ArchiveQuery,
        events: list[FileMessage],
        writer: MessageWriter,
        sink: _Chunks,
        moderation: Moderation,
    ) -> Iterator[bytes]:
        """The messages of window ``q`` streamed block by block, ``events`` (of the same window)
        merged in."""
        params: dict[str, Any] = {}
        # One reading thread: rows come in key order from one stream, which ClickHouse neither has
        # to merge nor buffer per thread; peak memory then stays flat with size (bench/export.py)
        # and the export is faster, since Python, not ClickHouse, is the bottleneck.
        settings: dict[str, Any] = {"max_block_size": self.block_rows, "max_threads": 1}
        with_raw = self.fmt == "irc"
        pending: deque[tuple[int, FileMessage]] = deque((e.timestamp, e) for e in events)
        make = MessageRow._make
        sql = self.sql(params, q)
        with self.client.query_row_block_stream(sql, parameters=params, settings=settings) as rows:
            for block in rows:
                messages = [file_message(make(row), moderation, with_raw) for row in block]
                merged, k = _merge(messages, [m.timestamp for m in messages], pending)
                writer.write(merged)
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
