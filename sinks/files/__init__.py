"""Chat files: one message schema (:class:`FileMessage`) and incremental writers per format.

Formats (:data:`FORMATS`): ``json`` (one array), ``jsonl`` (one object per line), ``csv`` (flattened,
:data:`CSV_COLUMNS`), ``txt`` (``[YYYY-MM-DD HH:MM:SS] display_name: text``, UTC), ``irc`` (the raw
IRC lines) and ``twitchdownloader`` (TwitchDownloader's chat JSON). Capture jobs offer
:data:`CAPTURE_FORMATS`; archive exports (:mod:`streamscope.query.archive`) offer all of them. The
fields are documented in :mod:`streamscope.sinks.files.schema`; the record of a stored row is built by
:func:`chat_message` / :func:`event_message` only.

Usage::

    writer = open_writer("jsonl", fp)          # fp: a binary file object, left open for the caller
    writer.write(messages_from_lines(lines))   # appends one chunk and flushes fp
    writer.close()                             # trailer (json's "]"), flush

jsonl, txt, csv and irc files are valid after every ``write`` (a crash leaves a valid prefix).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, Protocol

from streamscope.sinks.files.convert import chat_message, event_message, messages_from_lines
from streamscope.sinks.files.schema import CSV_COLUMNS, Author, FileMessage, iso_time
from streamscope.sinks.files.twitchdownloader import TwitchDownloaderWriter
from streamscope.sinks.files.writers import CsvWriter, IrcWriter, JsonlWriter, JsonWriter, TxtWriter, txt_line

__all__ = [
    "CAPTURE_FORMATS",
    "CONTENT_TYPES",
    "CSV_COLUMNS",
    "EXTENSIONS",
    "FORMATS",
    "Author",
    "FileMessage",
    "MessageWriter",
    "chat_message",
    "event_message",
    "iso_time",
    "messages_from_lines",
    "open_writer",
    "txt_line",
]

FORMATS: tuple[str, ...] = ("json", "jsonl", "csv", "txt", "irc", "twitchdownloader")
CAPTURE_FORMATS: tuple[str, ...] = ("json", "jsonl", "csv", "txt")
CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "irc": "text/plain; charset=utf-8",
    "twitchdownloader": "application/json",
}
EXTENSIONS: dict[str, str] = {
    "json": ".json",
    "jsonl": ".jsonl",
    "csv": ".csv",
    "txt": ".txt",
    "irc": ".log",
    "twitchdownloader": ".json",
}


class MessageWriter(Protocol):
    """Writes :class:`FileMessage` batches to a binary file object, incrementally.

    ``write`` appends the batch as one chunk and flushes ``fp``; ``close`` writes the format's
    trailer (if any) and flushes, leaving ``fp`` open. Counters cover what reached ``fp``.
    """

    messages_written: int
    bytes_written: int

    def write(self, messages: Iterable[FileMessage]) -> None: ...

    def close(self) -> None: ...


def open_writer(
    fmt: str, fp: BinaryIO, *, channel: str | None = None, start_ms: int | None = None
) -> MessageWriter:
    """A writer of format ``fmt`` (one of :data:`FORMATS`) on ``fp``; ValueError for another.

    ``channel`` (login) and ``start_ms`` are used by ``twitchdownloader`` only (streamer name and the
    origin of ``content_offset_seconds``; by default the channel and time of the first message).
    """
    if fmt == "jsonl":
        return JsonlWriter(fp)
    if fmt == "json":
        return JsonWriter(fp)
    if fmt == "csv":
        return CsvWriter(fp)
    if fmt == "txt":
        return TxtWriter(fp)
    if fmt == "irc":
        return IrcWriter(fp)
    if fmt == "twitchdownloader":
        return TwitchDownloaderWriter(fp, channel, start_ms)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
