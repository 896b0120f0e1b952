"""Anonymous capture of Twitch chat over IRC-on-WebSocket: every line the server sends, raw."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from streamscope.records import RawLine

from .lines import normalize_channel
from .outbox import Outbox
from .ratelimit import JoinLimiter
from .websocket import Connection, Counters, Shared, Timings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IrcSourceStats:
    """A snapshot of a source's progress (for progress bars, ``/metrics`` and tests)."""

    lines_received: int
    lines_published: int
    frames_received: int
    connections: int
    """Sockets open right now."""
    connects: int
    """Successful WebSocket opens so far, first ones included."""
    reconnects: int
    """Opens that replaced a lost or RECONNECTed socket."""
    channels: int
    """Channels asked for."""
    joined_channels: int
    """Channels the server confirmed (JOIN echo) on a socket that is open now."""
    joins_sent: int
    connect_failures: int
    """Connect attempts that failed (refused, timed out, bad handshake), on any connection."""
    last_connect_error: str | None
    """Why the most recent of them failed; None if none did."""


class TwitchIrcSource:
    """Reads Twitch chat anonymously (``justinfan<digits>``) and publishes every received line.

    Contract:

    * Every line the server sends is published as a :class:`RawLine` - PING, RECONNECT, numerics
      and JOIN echoes included; pipelines decide what to keep. ``channel`` is the login from the
      line's ``#`` parameter (``''`` if it has none), ``line`` the exact text without CRLF,
      ``received_at`` epoch ms of the WebSocket frame that carried it.
    * Order: lines of one connection are published in receive order (a channel lives on exactly one
      connection, so per channel too). Batches are published from a worker thread;
      ``publish`` may block (bus backpressure), which pauses reading, never drops.
    * At-most-once per socket: Twitch does not replay what was sent while a socket was down, so a
      reconnect can lose lines; it never duplicates them.
    * At most ``joins_per_window`` JOINs per ``join_window_s`` across all connections (with a
      small safety margin); at most ``channels_per_connection`` channels per socket. The app layer
      passes these and ``url`` from :class:`~streamscope.settings.Settings` (``twitch_irc_url``,
      ``irc_channels_per_connection``, ``irc_joins_per_window``, ``irc_join_window_s``).
    * ``await run()`` returns after ``await stop()`` once everything received was published. If
      ``publish`` raises, ``run`` closes the sockets and re-raises it. A source runs once.

    All methods must be called from the event loop running :meth:`run` (from another thread use
    ``loop.call_soon_threadsafe(source.join, "name")``).
    """

    def __init__(
        self,
        channels: Iterable[str],
        publish: Callable[[list[RawLine]], None],
        *,
        url: str,
        channels_per_connection: int,
        joins_per_window: int,
        join_window_s: float,
        source_name: str = "irc",
        idle_ping_s: float = 300.0,
        pong_timeout_s: float = 10.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.url = url
        self.channels_per_connection = channels_per_connection
        if self.channels_per_connection < 1:
            raise ValueError("channels_per_connection must be >= 1")
        limiter = JoinLimiter(joins_per_window, join_window_s)
        timings = Timings(idle_ping_s, pong_timeout_s, backoff_initial_s, backoff_max_s)
        self._outbox = Outbox(publish)
        self._shared = Shared(self.url, source_name, limiter, self._outbox, timings, Counters())
        self._channels: dict[str, Connection] = {}
        self._connections: list[Connection] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_index = 0
        self._running = False
        self._stop: asyncio.Event | None = None
        self._done: asyncio.Event | None = None
        self._failure: asyncio.Future[None] | None = None
        for channel in channels:
            self.join(channel)

    @property
    def channels(self) -> list[str]:
        """The channels asked for, in the order they were added."""
        return list(self._channels)

    def join(self, channel: str) -> None:
        """Capture ``channel`` too (``'name'`` or ``'#name'``); no-op if already captured.

        The JOIN is sent as soon as the rate limit allows. Raises :class:`ValueError` for a name
        that is not a Twitch login.
        """
        login = normalize_channel(channel)
        if login in self._channels:
            return
        conn = next((c for c in self._connections if len(c.channels) < self.channels_per_connection), None)
        if conn is None:
            conn = Connection(self._shared, self._next_index)
            self._next_index += 1
            self._connections.append(conn)
            if self._running:
                self._start(conn)
        conn.add(login)
        self._channels[login] = conn

    def part(self, channel: str) -> None:
        """Stop capturing ``channel``; a connection left without channels is closed."""
        login = normalize_channel(channel)
        conn = self._channels.pop(login, None)
        if conn is None:
            return
        conn.remove(login)
        if not conn.channels:
            self._connections.remove(conn)
            if self._running:
                # Its run() task returns once closed and is awaited at shutdown if still going.
                self._spawn(conn.close())

    def stats(self) -> IrcSourceStats:
        """Current counters; safe to read from another thread (a progress bar), if not atomic."""
        c = self._shared.counters
        return IrcSourceStats(
            lines_received=c.lines_received,
            lines_published=self._outbox.published,
            frames_received=c.frames_received,
            connections=sum(1 for conn in self._connections if conn.is_open),
            connects=c.connects,
            reconnects=c.reconnects,
            channels=len(self._channels),
            joined_channels=sum(len(conn.joined) for conn in self._connections),
            joins_sent=c.joins_sent,
            connect_failures=c.connect_failures,
            last_connect_error=c.last_connect_error,
        )

    async def run(self) -> None:
        """Connect, join, publish until :meth:`stop`; see the class contract."""
        if self._running or self._done is not None:
            raise RuntimeError("TwitchIrcSource.run() can be called once")
        self._running = True
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._failure = asyncio.get_running_loop().create_future()
        publisher = asyncio.create_task(self._outbox.run())
        try:
            for conn in self._connections:
                self._start(conn)
            log.info(
                "irc: capturing %d channel(s) over %d connection(s) from %s",
                len(self._channels),
                len(self._connections),
                self.url,
            )
            stop = asyncio.ensure_future(self._stop.wait())
            waiters: set[asyncio.Future[Any]] = {publisher, stop, self._failure}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
        finally:
            await self._shutdown(publisher)
            self._running = False
            self._done.set()

    async def stop(self) -> None:
        """Ask :meth:`run` to finish and wait until it has (no-op when not running)."""
        if self._stop is None or self._done is None or self._done.is_set():
            return
        self._stop.set()
        await self._done.wait()

    def _start(self, conn: Connection) -> None:
        task = self._spawn(conn.run(), name=f"twitch-irc-{conn.index}")
        task.add_done_callback(self._on_connection_done)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_connection_done(self, task: asyncio.Task[None]) -> None:
        # A connection only ends by itself through a bug; surface it instead of going quiet.
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self._failure is not None and not self._failure.done():
            self._failure.set_exception(exc)

    async def _shutdown(self, publisher: asyncio.Task[None]) -> None:
        await asyncio.gather(*(c.close() for c in self._connections), return_exceptions=True)
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._outbox.close()
        if not publisher.done():
            # Normal stop: everything received is published before run() returns.
            await publisher
        error = publisher.exception()
        if error is None and self._failure is not None and self._failure.done():
            error = self._failure.exception()
        if error is None:
            error = next((r for r in results if isinstance(r, Exception)), None)
        if error is not None:
            raise error
