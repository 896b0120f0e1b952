"""Live Twitch chat capture: the archive's own IRC source, its lines turned into file messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from streamscope.capture.urls import Target
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.sinks.files import FileMessage, messages_from_lines
from streamscope.sources.twitch_irc import TwitchIrcSource


async def twitch_live(target: Target, settings: Settings) -> AsyncGenerator[list[FileMessage], None]:
    """Batches of messages of channel ``target.id`` as they arrive, until the caller stops.

    Runs a :class:`~streamscope.sources.twitch_irc.TwitchIrcSource`
    (anonymous login, ``settings.twitch_irc_url``)
    on the running loop. Each published batch of raw lines becomes one batch of
    :class:`~streamscope.sinks.files.FileMessage` (chat messages and user-visible events; PINGs, JOIN
    echoes and
    the like are dropped by :func:`~streamscope.sinks.files.messages_from_lines`). Closing the generator (or
    cancelling the task iterating it) stops the source and waits for its sockets to close. If the
    source fails, its error is raised here.
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
    get: asyncio.Future[list[RawLine]] | None = None
    try:
        while True:
            get = asyncio.ensure_future(queue.get())
            await asyncio.wait({get, running}, return_when=asyncio.FIRST_COMPLETED)
            if not get.done():
                running.result()  # raises the source's failure
                raise RuntimeError("the Twitch IRC source stopped by itself")
            messages = list(messages_from_lines(get.result()))
            if messages:
                yield messages
    finally:
        if get is not None:
            get.cancel()
        await source.stop()
        running.cancel()  # only has an effect when run() never got to start
        await asyncio.gather(running, return_exceptions=True)
