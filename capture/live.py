"""Live Twitch chat capture: the archive's own IRC source, its lines turned into file messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from streamscope.capture.progress import Progress, unreachable
from streamscope.capture.urls import Target
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.sinks.files import FileMessage, messages_from_lines
from streamscope.sources.twitch_irc import TwitchIrcSource

#: How often the source's connect failures are copied to the progress (and the deadline checked).
_WATCH_EVERY_S = 0.1


async def twitch_live(
    target: Target, settings: Settings, progress: Progress
) -> AsyncGenerator[list[FileMessage], None]:
    """Batches of messages of channel ``target.id`` as they arrive, until the caller stops.

    Runs a :class:`~streamscope.sources.twitch_irc.TwitchIrcSource`
    (anonymous login, ``settings.twitch_irc_url``)
    on the running loop. Each published batch of raw lines becomes one batch of
    :class:`~streamscope.sinks.files.FileMessage` (chat messages and user-visible events; PINGs, JOIN
    echoes and
    the like are dropped by :func:`~streamscope.sinks.files.messages_from_lines`). Closing the generator (or
    cancelling the task iterating it) stops the source and waits for its sockets to close. If the
    source fails, its error is raised here.

    The source retries failed connects with backoff; each failure is counted in ``progress``
    (``failed_attempts``, ``last_error``). If no connect succeeded within
    ``settings.capture_connect_timeout_s``, :class:`~streamscope.capture.progress.SourceUnreachable`
    is raised. Once connected, a lost socket is reconnected for as long as the capture runs.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[RawLine]] = asyncio.Queue()

    def publish(batch: list[RawLine]) -> None:
        # Called on the source's publisher thread: hand the lines to this loop. Live chat is at most
        # tens of lines per second per channel, so an unbounded queue stays small.
        loop.call_soon_threadsafe(queue.put_nowait, list(batch))

    source = TwitchIrcSource(
        [target.id],
        publish,
        url=settings.twitch_irc_url,
        channels_per_connection=settings.irc_channels_per_connection,
        joins_per_window=settings.irc_joins_per_window,
        join_window_s=settings.irc_join_window_s,
        source_name="capture",
    )
    running = asyncio.create_task(source.run(), name=f"capture-irc-{target.id}")
    watch = asyncio.create_task(
        _watch(source, progress, settings.capture_connect_timeout_s), name=f"capture-irc-watch-{target.id}"
    )
    get: asyncio.Future[list[RawLine]] | None = None
    try:
        while True:
            get = asyncio.ensure_future(queue.get())
            waiters: set[asyncio.Future[Any]] = {get, running, watch}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if not get.done():
                if watch.done():
                    watch.result()  # raises SourceUnreachable
                running.result()  # raises the source's failure
                raise RuntimeError("the Twitch IRC source stopped by itself")
            messages = list(messages_from_lines(get.result()))
            if messages:
                yield messages
    finally:
        if get is not None:
            get.cancel()
        watch.cancel()
        await source.stop()
        running.cancel()  # only has an effect when run() never got to start
        await asyncio.gather(running, watch, return_exceptions=True)


async def _watch(source: TwitchIrcSource, progress: Progress, connect_timeout_s: float) -> None:
    """Copy the source's connect failures to ``progress`` while the capture runs; raise
    :class:`~streamscope.capture.progress.SourceUnreachable` if it never connected in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_timeout_s
    while True:
        stats = source.stats()
        progress.failed_attempts, progress.last_error = stats.connect_failures, stats.last_connect_error
        if not stats.connects and loop.time() >= deadline:
            what = f"Twitch IRC at {source.url}"
            raise unreachable(what, stats.connect_failures, stats.last_connect_error, connect_timeout_s)
        await asyncio.sleep(_WATCH_EVERY_S)
