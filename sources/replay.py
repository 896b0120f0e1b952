"""Replay recorded raw Twitch IRC logs (one raw line per line) onto the bus.

The recording formats accepted are the ones chat loggers write: plain UTF-8 text, one raw IRC line
per line (LF or CRLF), optionally gzip-compressed (``.gz``). Blank lines are skipped.

``received_at`` of a replayed line is the line's own ``tmi-sent-ts`` when it has one, else the last
one seen earlier in the file (else the file's modification time), so replaying the same file twice
produces identical records and the warehouse stores them once. With ``speed`` set, lines are paced by
their ``tmi-sent-ts`` gaps divided by ``speed``; without it they go as fast as the bus takes them.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from streamscope.records import RawLine
from streamscope.sources.twitch_irc.lines import channel_of

__all__ = ["ReplayProgress", "channel_of", "read_lines", "replay", "sent_ts"]


@dataclass(slots=True)
class ReplayProgress:
    """Counters a progress bar reads while a replay runs."""

    lines: int = 0
    bytes: int = 0
    total_bytes: int = 0


def sent_ts(line: str) -> int | None:
    """The ``tmi-sent-ts`` tag of a raw line in epoch ms, if present and numeric."""
    if not line.startswith("@"):
        return None
    start = line.find("tmi-sent-ts=")
    if start < 0:
        return None
    start += len("tmi-sent-ts=")
    end = start
    while end < len(line) and "0" <= line[end] <= "9":
        end += 1
    return int(line[start:end]) if end > start else None


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def read_lines(
    paths: Iterable[str | os.PathLike[str]],
    *,
    source: str = "replay",
    progress: ReplayProgress | None = None,
) -> Iterator[RawLine]:
    """Every line of the recordings as a :class:`RawLine`, in file order."""
    for p in paths:
        path = Path(p)
        last_ts = int(path.stat().st_mtime * 1000)
        with _open(path) as fh:
            for text in fh:
                if progress is not None:
                    progress.lines += 1
                    progress.bytes += len(text)
                line = text.rstrip("\r\n")
                if not line:
                    continue
                ts = sent_ts(line)
                if ts is not None:
                    last_ts = ts
                yield RawLine(channel_of(line), line, last_ts, source)


def replay(
    paths: Iterable[str | os.PathLike[str]],
    publish: Callable[[list[RawLine]], None],
    *,
    speed: float | None = None,
    batch_size: int = 2000,
    source: str = "replay",
    progress: ReplayProgress | None = None,
) -> int:
    """Publish every line of ``paths`` in batches; returns how many lines were published."""
    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive")
    batch: list[RawLine] = []
    count = 0
    first_ts: int | None = None
    started = time.monotonic()
    for record in read_lines(paths, source=source, progress=progress):
        if speed is not None:
            first_ts = record.received_at if first_ts is None else first_ts
            due = started + (record.received_at - first_ts) / 1000 / speed
            wait = due - time.monotonic()
            if wait > 0:
                if batch:
                    publish(batch)
                    count += len(batch)
                    batch = []
                time.sleep(wait)
        batch.append(record)
        if len(batch) >= batch_size:
            publish(batch)
            count += len(batch)
            batch = []
    if batch:
        publish(batch)
        count += len(batch)
    return count
