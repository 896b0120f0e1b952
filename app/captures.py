"""The sources one process runs, on one asyncio loop: IRC chat, the Helix poller (and discovery),
EventSub. Each publishes raw records through a :class:`~streamscope.pipelines.transport.Publisher`
of the runtime's transport, so the same capture feeds the in-process bus or Kafka.

A :class:`Capture` starts as tasks of the loop, stops cleanly (what it received is published) and
says how it is doing in one progress line. :class:`CaptureLoop` runs a set of them, on a thread of
its own (``streamscope up``, beside the API) or in the foreground until Ctrl-C/SIGTERM
(``streamscope source``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from streamscope import topics
from streamscope.pipelines.transport import Publisher
from streamscope.records import RawEvent, RawLine
from streamscope.settings import Settings
from streamscope.sources.eventsub import EventSubSource
from streamscope.sources.eventsub.users import Resolved
from streamscope.sources.helix.client import HelixClient
from streamscope.sources.helix.discovery import Discovery, DiscoveryFilters
from streamscope.sources.helix.poller import HelixStreamsPoller
from streamscope.sources.twitch_irc import TwitchIrcSource

log = logging.getLogger(__name__)

NO_CREDENTIALS = (
    "viewer counts need STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET; chat is captured anonymously"
)
NO_USER_TOKEN = (
    "EventSub (stream online/offline, title changes, authenticated chat) needs "
    "STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_USER_TOKEN"
)


class Capture(Protocol):
    """A source running on the capture loop (see the module docstring)."""

    name: str
    #: Set when the capture failed for good (the loop keeps the others running).
    error: BaseException | None

    def start(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def stop(self) -> None: ...

    def done(self) -> bool: ...

    def progress(self) -> str: ...


class _Task:
    """A capture's main coroutine as a task that keeps its failure."""

    name = "capture"
    #: Said after a failure, e.g. what keeps running.
    after_failure = ""
    error: BaseException | None = None
    _task: asyncio.Task[None] | None = None

    def _spawn(self, loop: asyncio.AbstractEventLoop, main: Callable[[], object], name: str) -> None:
        self._task = loop.create_task(main(), name=name)  # type: ignore[arg-type]
        self._task.add_done_callback(self._record)

    def _record(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self.error = error
            log.error("%s capture failed: %s%s", self.name, error, self.after_failure)

    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def _wait(self, timeout_s: float) -> None:
        if self._task is None:
            return
        _, pending = await asyncio.wait({self._task}, timeout=timeout_s)
        for task in pending:
            task.cancel()


class SourceCapture(_Task):
    """Any source with ``run()``/``stop()`` coroutines, and a progress line."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Coroutine[Any, Any, None]],
        stop: Callable[[], Awaitable[None]],
        progress: Callable[[], str],
    ) -> None:
        self.name = name
        self._run, self._stop, self._progress = run, stop, progress

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._spawn(loop, self._run, self.name)

    async def stop(self) -> None:
        await self._stop()
        await self._wait(30)

    def progress(self) -> str:
        return self._progress()


class IrcCapture(_Task):
    """Anonymous Twitch IRC chat of ``logins`` (joins/parts may follow discovery)."""

    name = "irc"

    def __init__(
        self, settings: Settings, logins: Sequence[str], publish: Callable[[list[RawLine]], None]
    ) -> None:
        self.source = TwitchIrcSource(
            logins,
            publish,
            url=settings.twitch_irc_url,
            channels_per_connection=settings.irc_channels_per_connection,
            joins_per_window=settings.irc_joins_per_window,
            join_window_s=settings.irc_join_window_s,
        )

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._spawn(loop, self.source.run, "irc-capture")

    async def stop(self) -> None:
        await self.source.stop()
        await self._wait(30)

    def progress(self) -> str:
        irc = self.source.stats()
        return (
            f"{irc.joined_channels}/{irc.channels} channels joined, {irc.lines_received} lines received, "
            f"{irc.reconnects} reconnects"
        )


class HelixCapture(_Task):
    """The Helix ``/streams`` poller for the tracked channels and, with filters, discovery of the
    top live channels (joined on ``irc`` when given; ``logins`` stay pinned)."""

    name = "helix"

    def __init__(
        self,
        settings: Settings,
        logins: Sequence[str],
        publish: Callable[[Sequence[RawEvent]], None],
        discover: DiscoveryFilters | None = None,
        irc: IrcCapture | None = None,
    ) -> None:
        self.poller = HelixStreamsPoller.from_settings(logins, publish, settings)
        self.discovery: Discovery | None = None
        if discover is not None:
            assert settings.twitch_client_id and settings.twitch_client_secret is not None
            client = HelixClient(
                settings.twitch_client_id, settings.twitch_client_secret,
                helix_url=settings.twitch_helix_url, auth_url=settings.twitch_auth_url,
            )  # fmt: skip
            join = irc.source.join if irc is not None else (lambda _: None)
            part = irc.source.part if irc is not None else (lambda _: None)
            self.discovery = Discovery(
                client, discover, join=join, part=part, poller=self.poller, pinned=logins,
                interval_s=settings.discovery_interval_s,
            )  # fmt: skip
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._spawn(loop, self.poller.run, "helix-poller")
        if self.discovery is not None:
            self._tasks.append(loop.create_task(self.discovery.run(), name="discovery"))

    async def stop(self) -> None:
        await self.poller.stop()
        if self.discovery is not None:
            await self.discovery.stop()
            await self.discovery.client.aclose()
        # A request paced by the rate limit may be sleeping until the bucket's reset: don't wait.
        await self._wait(5)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()

    def progress(self) -> str:
        p = self.poller.stats()
        return (
            f"helix {p.channels} channels tracked, {p.requests} requests ({p.rate_limited} x 429, "
            f"{p.paced_s:.0f}s paced)"
        )


class EventSubCapture(_Task):
    """EventSub for ``logins``: ids from Helix ``GET /users`` (user token), then the subscriptions.

    In ``up`` chat stays IRC's (``chat=False``): EventSub chat as well would store every message
    twice (the two carry different send times). A failure (token refused, Helix unreachable) is
    logged and kept in ``error``; the other captures go on.
    """

    name = "eventsub"
    after_failure = " (chat is still captured over IRC)"

    def __init__(
        self,
        settings: Settings,
        logins: Sequence[str],
        publish: Callable[[list[RawEvent]], None],
        *,
        chat: bool,
    ) -> None:
        self.settings = settings
        self.logins = list(logins)
        self.publish = publish
        self.chat = chat
        self.source: EventSubSource | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._spawn(loop, self._run, "eventsub")

    async def _run(self) -> None:
        self.source, found = await eventsub_source(self.settings, self.logins, self.publish, chat=self.chat)
        if found.missing:
            log.warning("EventSub: Twitch does not know %s; left out", ", ".join(found.missing))
        log.info("EventSub: subscribing for %d channel(s) as %s", len(found.channels), found.user_login)
        await self.source.run()

    async def stop(self) -> None:
        if self.source is not None:
            await self.source.stop()
        await self._wait(10)

    def progress(self) -> str:
        return f"eventsub {self.source.stats()}" if self.source is not None else "eventsub starting"


async def eventsub_source(
    settings: Settings, logins: Sequence[str], publish: Callable[[list[RawEvent]], None], *, chat: bool
) -> tuple[EventSubSource, Resolved]:
    """An EventSub source for ``logins`` from the settings' client id, user token and URLs (their ids
    and the reading user come from Helix ``GET /users``); ``chat`` subscribes to chat too."""
    return await EventSubSource.for_logins(
        logins,
        publish,
        client_id=settings.twitch_client_id,
        token=settings.twitch_user_token,
        url=settings.twitch_eventsub_url,
        helix_url=settings.twitch_helix_url,
        chat=chat,
        keepalive_s=settings.eventsub_keepalive_s,
    )


def has_helix_credentials(settings: Settings) -> bool:
    return HelixStreamsPoller.credentials_from(settings) is not None


def has_user_token(settings: Settings) -> bool:
    return bool(settings.twitch_client_id) and settings.twitch_user_token is not None


def live_captures(
    settings: Settings,
    logins: Sequence[str],
    publisher: Callable[[topics.Topic, str], Publisher],
    discover: DiscoveryFilters | None = None,
) -> list[Capture]:
    """What ``streamscope up`` captures: IRC chat of ``logins`` (or discovered channels); Helix
    viewer counts when client id/secret are set; EventSub stream events when a user token is set.
    ``publisher(topic, source)`` gives each its way into the transport."""
    captures: list[Capture] = []
    irc = None
    if logins or discover is not None:
        irc = IrcCapture(settings, logins, publisher(topics.IRC_RAW, "irc").publish)
        captures.append(irc)
    if has_helix_credentials(settings) and (logins or discover is not None):
        helix = publisher(topics.HELIX_STREAMS, "helix").publish
        captures.append(HelixCapture(settings, logins, helix, discover, irc))
    if has_user_token(settings) and logins:
        eventsub = publisher(topics.EVENTSUB_RAW, "eventsub").publish
        captures.append(EventSubCapture(settings, logins, eventsub, chat=False))
    return captures


class CaptureLoop:
    """Runs captures on one asyncio loop (see the module docstring)."""

    def __init__(self, captures: Sequence[Capture]) -> None:
        self.captures = list(captures)
        self.loop = asyncio.new_event_loop()  # the loop of start()/stop(); run() has its own
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the loop on a thread of its own (``up``); :meth:`stop` ends it."""

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            for capture in self.captures:
                capture.start(self.loop)
            self.loop.run_forever()

        self._thread = threading.Thread(target=main, name="capture", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 60) -> None:
        """Stop every capture (what they received is published), then the loop."""
        if self._thread is None:
            return
        for capture in reversed(self.captures):  # the IRC source last: discovery may still join
            future = asyncio.run_coroutine_threadsafe(capture.stop(), self.loop)
            with contextlib.suppress(TimeoutError):
                future.result(timeout=timeout_s)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def run(self, progress: Callable[[], None], every_s: float) -> None:
        """Run in the foreground until every capture ended or Ctrl-C/SIGTERM (then stop them
        cleanly), calling ``progress()`` every ``every_s`` seconds (``streamscope source``)."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for capture in self.captures:
                capture.start(loop)
            last = loop.time()
            try:
                while not all(c.done() for c in self.captures):
                    await asyncio.sleep(min(every_s, 0.2))
                    if loop.time() - last >= every_s:
                        last = loop.time()
                        progress()
            finally:
                for capture in reversed(self.captures):
                    await capture.stop()

        terminate_like_interrupt()
        # asyncio.run cancels main() on Ctrl-C/SIGTERM, so its finally stops the captures cleanly.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())

    def progress(self) -> list[str]:
        return [c.progress() for c in self.captures]

    def errors(self) -> list[tuple[str, BaseException]]:
        return [(c.name, c.error) for c in self.captures if c.error is not None]


def terminate_like_interrupt() -> None:
    """Containers stop with SIGTERM: treat it like Ctrl-C so sources flush what they buffered."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
