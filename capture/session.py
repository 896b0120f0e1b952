"""One capture: a runner's batches written to a file, with limits and live progress.

Used by both the background jobs (:mod:`streamscope.capture.jobs`) and ``streamscope capture``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import BinaryIO, Literal

from streamscope.capture.live import twitch_live
from streamscope.capture.progress import Progress
from streamscope.capture.urls import Kind, Target
from streamscope.capture.vod import twitch_clip, twitch_vod
from streamscope.capture.youtube import youtube
from streamscope.settings import Settings
from streamscope.sinks.files import FileMessage, open_writer

Runner = Callable[[Target, Settings, Progress], AsyncGenerator[list[FileMessage], None]]
"""``(target, settings, progress) -> batches of messages``; the batches end when the source has no
more (a VOD's last page) or never (live chat); closing the iterator stops the source. A runner that
cannot reach its source notes each failed attempt in ``progress`` (:meth:`Progress.source_failed`)
and raises :class:`~streamscope.capture.progress.SourceUnreachable` once
``settings.capture_connect_timeout_s`` passed without reaching it."""

RUNNERS: dict[Kind, Runner] = {
    "twitch_live": twitch_live,
    "twitch_vod": twitch_vod,
    "twitch_clip": twitch_clip,
    "youtube": youtube,
}

StopReason = Literal["end", "max_messages", "timeout"]


async def capture(
    target: Target,
    fmt: str,
    fp: BinaryIO,
    settings: Settings,
    *,
    max_messages: int | None = None,
    timeout_s: float | None = None,
    progress: Progress | None = None,
    on_batch: Callable[[Progress], None] | None = None,
    runner: Runner | None = None,
) -> StopReason:
    """Write ``target``'s chat to ``fp`` in format ``fmt`` until a limit, the end, or cancellation.

    * Stops after exactly ``max_messages`` messages (the last batch is cut), after ``timeout_s``
      seconds (``"timeout"``), or when the source ends (``"end"``, a VOD's last page).
    * Every batch is written and ``fp`` flushed before the next is awaited, so the file always holds
      whole messages (a valid prefix for jsonl/txt/csv); ``on_batch`` is then called.
    * Whatever ends it - a limit, cancellation (``CancelledError`` is re-raised), or a source
      error (re-raised; :class:`~streamscope.capture.progress.SourceUnreachable` when the source
      could not be reached in time) - the writer is closed first, so a json file is a complete array.
    """
    progress = progress if progress is not None else Progress()
    run = runner or RUNNERS[target.kind]
    writer = open_writer(fmt, fp, channel=target.id)
    reason: StopReason = "end"
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline, aclosing(run(target, settings, progress)) as batches:
            async for batch in batches:
                if max_messages is not None:
                    batch = batch[: max_messages - writer.messages_written]
                writer.write(batch)
                fp.flush()
                progress.messages, progress.bytes = writer.messages_written, writer.bytes_written
                if on_batch is not None:
                    on_batch(progress)
                if max_messages is not None and writer.messages_written >= max_messages:
                    reason = "max_messages"
                    break
    except TimeoutError:
        if not deadline.expired():
            raise
        reason = "timeout"
    finally:
        writer.close()
        fp.flush()
        progress.messages, progress.bytes = writer.messages_written, writer.bytes_written
        progress.ended = time.monotonic()
    return reason
