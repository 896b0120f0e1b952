"""Incremental writers for json, jsonl, csv, txt and irc files (twitchdownloader has its own module).

Every writer appends each :meth:`write` call as one chunk and flushes ``fp`` after it, so a reader
(or a crash) sees whole messages only: a jsonl/txt/irc/csv file cut after any write is a valid
file of the messages written so far. json is one array: valid once :meth:`close` wrote its ``]``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import BinaryIO

import orjson

from streamscope.sinks.files.schema import CSV_COLUMNS, FileMessage, iso_time


class BaseWriter:
    """Counts what it writes; subclasses turn a batch into bytes (:meth:`_encode`)."""

    def __init__(self, fp: BinaryIO) -> None:
        self.fp = fp
        self.messages_written = 0
        self.bytes_written = 0
        self.closed = False

    def _emit(self, data: bytes) -> None:
        if data:
            self.fp.write(data)
            self.bytes_written += len(data)
        self.fp.flush()

    def _encode(self, messages: list[FileMessage]) -> bytes:
        raise NotImplementedError

    def write(self, messages: Iterable[FileMessage]) -> None:
        """Append ``messages`` (one chunk) and flush ``fp``."""
        if self.closed:
            raise ValueError("write to a closed writer")
        batch = list(messages)
        self._emit(self._encode(batch))
        self.messages_written += len(batch)

    def _trailer(self) -> bytes:
        return b""

    def close(self) -> None:
        """Write the trailer (if the format has one) and flush; ``fp`` stays open (caller's)."""
        if self.closed:
            return
        self.closed = True
        self._emit(self._trailer())


class JsonlWriter(BaseWriter):
    """One JSON object per line (``FileMessage.to_dict()``), UTF-8, ``\\n`` terminated."""

    def _encode(self, messages: list[FileMessage]) -> bytes:
        dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        return b"".join([dumps(m.to_dict(), option=opt) for m in messages])


class JsonWriter(BaseWriter):
    """One JSON array of objects, one object per line: ``[\\n{...},\\n{...}\\n]\\n``."""

    def _encode(self, messages: list[FileMessage]) -> bytes:
        if not messages:
            return b""
        dumps = orjson.dumps
        body = b",\n".join([dumps(m.to_dict()) for m in messages])
        return (b"[\n" if self.messages_written == 0 else b",\n") + body

    def _trailer(self) -> bytes:
        return b"[]\n" if self.messages_written == 0 else b"\n]\n"


class CsvWriter(BaseWriter):
    """RFC 4180 CSV (``\\r\\n`` rows, quoted when needed) with a header row of :data:`CSV_COLUMNS`."""

    def __init__(self, fp: BinaryIO) -> None:
        super().__init__(fp)
        self._header = False

    def _encode(self, messages: list[FileMessage]) -> bytes:
        buf = io.StringIO()
        out = csv.writer(buf)
        if not self._header:
            self._header = True
            out.writerow(CSV_COLUMNS)
        out.writerows([m.csv_row() for m in messages])
        return buf.getvalue().encode()

    def _trailer(self) -> bytes:
        return b"" if self._header else self._encode([])


def txt_line(m: FileMessage) -> str:
    """``[YYYY-MM-DD HH:MM:SS] display_name: text`` (UTC). Events read as Twitch words them:
    ``[...] <system message>`` (plus `` | name: text`` when the user wrote something), and
    timeouts/bans/clears/deletions as a short sentence."""
    t = iso_time(m.timestamp)
    stamp = f"[{t[:10]} {t[11:19]}] "
    who = m.author.display_name or m.author.name
    text = m.message
    if "\n" in text or "\r" in text:  # keep one message per line
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    kind = m.message_type
    if kind == "text_message":
        return f"{stamp}{who}: {text}"
    if kind == "transcript":  # what the streamer said (exports with transcript lines)
        return f"{stamp}[voice] {who}: {text}"
    target = (m.target or {}).get("name") or ""
    if kind == "timeout":
        return f"{stamp}{target} was timed out for {m.duration_s}s"
    if kind == "ban":
        return f"{stamp}{target} was banned"
    if kind == "clear_chat":
        return f"{stamp}chat was cleared by a moderator"
    if kind == "delete_message":
        return f"{stamp}a message from {target} was deleted: {text}"
    line = stamp + (m.system_message or kind)
    return f"{line} | {who}: {text}" if text else line


class TxtWriter(BaseWriter):
    """Plain text, one :func:`txt_line` per message."""

    def _encode(self, messages: list[FileMessage]) -> bytes:
        return "".join([txt_line(m) + "\n" for m in messages]).encode()


class IrcWriter(BaseWriter):
    """The raw IRC line of each message, one per line (as Twitch sent it; replayable with
    ``streamscope replay``). A message without ``raw`` (not from Twitch IRC) is a ValueError."""

    def _encode(self, messages: list[FileMessage]) -> bytes:
        lines = []
        for m in messages:
            if m.raw is None:
                raise ValueError(f"message {m.message_id} has no raw IRC line; the irc format needs one")
            lines.append(m.raw + "\n")
        return "".join(lines).encode()
