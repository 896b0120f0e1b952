"""One anonymous Twitch IRC WebSocket connection and the channels sharded onto it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, WebSocketException

from streamscope.records import RawLine

from .lines import channel_of, command_of, split_frame
from .outbox import Outbox
from .ratelimit import JoinLimiter

log = logging.getLogger(__name__)

#: Twitch ignores the password of a ``justinfan`` login; this is the value its own web chat sent.
ANONYMOUS_PASS = "SCHMOOPIIE"
CAPABILITIES = "twitch.tv/tags twitch.tv/commands"


@dataclass
class Counters:
    """Progress counters shared by every connection of one source (event-loop thread only)."""

    frames_received: int = 0
    lines_received: int = 0
    connects: int = 0
    reconnects: int = 0
    joins_sent: int = 0
    connect_failures: int = 0
    last_connect_error: str | None = None


@dataclass(frozen=True)
class Timings:
    """Liveness and reconnect timings (seconds); tests shorten them."""

    idle_ping_s: float = 300.0
    pong_timeout_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    connect_timeout_s: float = 10.0


@dataclass
class Shared:
    """What every connection of one source shares."""

    url: str
    source_name: str
    limiter: JoinLimiter
    outbox: Outbox
    timings: Timings
    counters: Counters = field(default_factory=Counters)


class Connection:
    """Keeps one socket logged in and joined to :attr:`channels`, reconnecting as long as needed.

    :meth:`run` loops connect → login → join (rate-limited) → read until :meth:`close`. Every frame
    read is published line by line through the shared outbox, in receive order, including the
    lines this class reacts to itself (PING, RECONNECT, numerics). Not thread-safe: one event loop.
    """

    def __init__(self, shared: Shared, index: int) -> None:
        self.shared = shared
        self.index = index
        self.nick = f"justinfan{random.randint(10_000, 99_999_999)}"
        #: Channels this connection is responsible for (insertion-ordered set).
        self.channels: dict[str, None] = {}
        #: Channels the server confirmed with a JOIN echo on the current socket.
        self.joined: set[str] = set()
        self._to_join: dict[str, None] = {}
        self._join_sent: set[str] = set()
        self._wake = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    @property
    def is_open(self) -> bool:
        return self._ws is not None

    def add(self, channel: str) -> None:
        self.channels[channel] = None
        if self._ws is not None:
            self._to_join[channel] = None
            self._wake.set()

    def remove(self, channel: str) -> None:
        self.channels.pop(channel, None)
        self._to_join.pop(channel, None)
        if self._ws is not None and channel in self._join_sent:
            self._join_sent.discard(channel)
            self._send_soon(f"PART #{channel}")

    async def close(self) -> None:
        """Stop reconnecting and close the socket; :meth:`run` then returns."""
        self._closing = True
        self._wake.set()
        if self._ws is not None:
            await self._ws.close()

    async def run(self) -> None:
        attempt = 0
        connected_before = False
        while not self._closing:
            try:
                ws = await websockets.connect(
                    self.shared.url,
                    open_timeout=self.shared.timings.connect_timeout_s,
                    # Liveness is checked with IRC PINGs (what Twitch documents), not WebSocket
                    # pings: those would time out whenever bus backpressure pauses our reads.
                    ping_interval=None,
                    max_size=16 * 2**20,
                )
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.warning("irc[%d]: connect to %s failed: %s", self.index, self.shared.url, exc)
                self.shared.counters.connect_failures += 1
                self.shared.counters.last_connect_error = _describe(exc)
                await self._backoff(attempt)
                attempt += 1
                continue
            counters = self.shared.counters
            counters.connects += 1
            if connected_before:
                counters.reconnects += 1
            connected_before = True
            log.info("irc[%d]: connected to %s as %s", self.index, self.shared.url, self.nick)
            self._ws = ws
            try:
                outcome = await self._session(ws)
            finally:
                self._ws = None
                self.joined.clear()
                self._join_sent.clear()
                self._to_join.clear()
                await ws.close()
            if self._closing:
                break
            if outcome == "reconnect":
                log.info("irc[%d]: server asked to RECONNECT", self.index)
                # Twitch sends RECONNECT to every client of a server it restarts: a little jitter
                # keeps them from all arriving at once.
                await self._sleep(random.uniform(0, self.shared.timings.backoff_initial_s))
                attempt = 0
            else:
                log.warning("irc[%d]: connection lost (%s), reconnecting", self.index, outcome)
                if outcome == "logged-in":
                    attempt = 0
                await self._backoff(attempt)
                attempt += 1
        log.info("irc[%d]: closed", self.index)

    async def _session(self, ws: ClientConnection) -> str:
        """Log in, join, read until the socket ends; say why it ended.

        Returns ``"reconnect"`` (server sent RECONNECT), ``"logged-in"`` (lost after a successful
        login, so backoff restarts) or ``"dropped"`` (lost before that).
        """
        logged_in = asyncio.Event()
        self._to_join = dict(self.channels)
        # One command per frame: Twitch documents multi-line frames only from server to client.
        for command in (f"CAP REQ :{CAPABILITIES}", f"PASS {ANONYMOUS_PASS}", f"NICK {self.nick}"):
            await ws.send(f"{command}\r\n")
        joiner = asyncio.create_task(self._joiner(ws, logged_in))
        timings = self.shared.timings
        counters = self.shared.counters
        pinged = False
        try:
            while True:
                try:
                    timeout = timings.pong_timeout_s if pinged else timings.idle_ping_s
                    frame = await asyncio.wait_for(ws.recv(), timeout)
                except TimeoutError:
                    if pinged:
                        log.warning("irc[%d]: no PONG within %.1fs", self.index, timings.pong_timeout_s)
                        return "logged-in" if logged_in.is_set() else "dropped"
                    # A half-open TCP socket reads nothing forever; only a PING reveals it.
                    await ws.send("PING :tmi.twitch.tv\r\n")
                    pinged = True
                    continue
                pinged = False
                received_at = time.time_ns() // 1_000_000
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                lines = split_frame(text)
                counters.frames_received += 1
                counters.lines_received += len(lines)
                reconnect = False
                for line in lines:
                    reconnect |= await self._react(ws, line, logged_in)
                name = self.shared.source_name
                await self.shared.outbox.put(
                    [RawLine(channel_of(line), line, received_at, name) for line in lines]
                )
                if reconnect:
                    return "reconnect"
        except ConnectionClosed:
            return "logged-in" if logged_in.is_set() else "dropped"
        finally:
            joiner.cancel()
            await asyncio.gather(joiner, return_exceptions=True)

    async def _react(self, ws: ClientConnection, line: str, logged_in: asyncio.Event) -> bool:
        """Handle what the connection itself must act on; True when the server said RECONNECT."""
        prefix, command, params = command_of(line)
        if command == "PING":
            await ws.send(f"PONG {params}\r\n")
        elif command == "RECONNECT":
            return True
        elif command == "001":
            logged_in.set()
        elif command in ("JOIN", "PART") and prefix.split("!", 1)[0] == self.nick:
            channel = params.split(" ", 1)[0].lstrip("#")
            if command == "PART":
                self.joined.discard(channel)
            elif channel in self.channels:
                self.joined.add(channel)
        return False

    async def _joiner(self, ws: ClientConnection, logged_in: asyncio.Event) -> None:
        """Send the JOINs of this socket after login, each one paid for by the shared limiter."""
        await logged_in.wait()
        try:
            while True:
                while self._to_join:
                    channel = next(iter(self._to_join))
                    await self.shared.limiter.acquire()
                    if channel not in self._to_join:
                        continue  # parted while waiting: the slot is spent, which is harmless
                    del self._to_join[channel]
                    await ws.send(f"JOIN #{channel}\r\n")
                    self._join_sent.add(channel)
                    self.shared.counters.joins_sent += 1
                self._wake.clear()
                await self._wake.wait()
        except ConnectionClosed:
            return  # the reader sees the same close and reconnects

    def _send_soon(self, command: str) -> None:
        ws = self._ws
        if ws is None:
            return

        async def send() -> None:
            # On a closed socket there is nothing to PART: the next socket will not join it.
            with contextlib.suppress(ConnectionClosed):
                await ws.send(f"{command}\r\n")

        task = asyncio.create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _backoff(self, attempt: int) -> None:
        timings = self.shared.timings
        ceiling = min(timings.backoff_max_s, timings.backoff_initial_s * 2**attempt)
        # "Equal jitter": never less than half the step, so a storm of clients still spreads out.
        await self._sleep(random.uniform(ceiling / 2, ceiling))

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when closed (so stop() is prompt even mid-backoff)."""
        self._wake.clear()
        if self._closing:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


def _describe(exc: BaseException) -> str:
    """One line saying why a connect failed (a timeout's str() is empty)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
