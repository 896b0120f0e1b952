"""Embedded wiring for the Twitch API side: the streams dataflow thread, the Helix poller, discovery.

:class:`EmbeddedStreams` is the streams counterpart of :class:`streamscope.app.runtime.EmbeddedIngest`:
an in-process bus with the HELIX_STREAMS and EVENTSUB_RAW topics and the streams dataflow
(``streamscope.pipelines.streams``) on its own thread. :func:`helix_capture` builds what ``streamscope
up`` runs
on its capture event loop: the ``/streams`` poller for the tracked channels and, with
``--discover``, discovery joining/parting channels on the IRC source and the poller.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from streamscope.app.runtime import DataflowThread
from streamscope.sinks.clickhouse import FlushReport
from streamscope.sinks.kafka import KafkaPublisher
from streamscope.sources.eventsub import EventSubSource
from streamscope.sources.helix.client import HelixClient
from streamscope.sources.helix.discovery import Discovery, DiscoveryFilters
from streamscope.sources.helix.poller import HelixStreamsPoller

from streamscope import topics
from streamscope.bus import InProcessBus
from streamscope.records import RawEvent
from streamscope.settings import Settings
from streamscope.warehouse import connect

log = logging.getLogger(__name__)

NO_CREDENTIALS = (
    "viewer counts need STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET; chat is captured anonymously"
)
TOPICS = (topics.HELIX_STREAMS.name, topics.EVENTSUB_RAW.name)


@dataclass(slots=True)
class StreamsCounters:
    samples: int = 0
    session_rows: int = 0
    chat: FlushReport = field(default_factory=FlushReport)


class EmbeddedStreams:
    """The streams dataflow on a background thread, fed through ``publish(topic, events)``."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedStreams:
        return cls(
            settings.clickhouse_url,
            settings.clickhouse_database,
            batch_rows=settings.sink_batch_rows,
            flush_interval_s=settings.sink_flush_interval_s,
        )

    def __init__(
        self, url: str, database: str, *, batch_rows: int = 5000, flush_interval_s: float = 1.0
    ) -> None:
        self.bus: InProcessBus[RawEvent] = InProcessBus()
        self.counters = StreamsCounters()
        self._url, self._database = url, database
        self._batch_rows, self._interval = batch_rows, flush_interval_s
        self._lock = threading.Lock()
        self._thread = DataflowThread("streams", self._run)

    def _client(self) -> Client:
        return connect(self._url, self._database)

    def _on_chat(self, report: FlushReport) -> None:
        with self._lock:
            self.counters.chat.add(report)

    def _on_streams(self, samples: int, sessions: int) -> None:
        with self._lock:
            self.counters.samples += samples
            self.counters.session_rows += sessions

    def _run(self) -> None:
        from streamscope.pipelines import streams

        streams.run(
            self.bus, self._client, topic_names=TOPICS, batch_rows=self._batch_rows,
            flush_interval_s=self._interval, on_flush=self._on_chat, on_streams_flush=self._on_streams,
        )  # fmt: skip

    def start(self) -> EmbeddedStreams:
        self._thread.start()
        return self

    def publish(self, topic: str, events: Sequence[RawEvent]) -> None:
        self._thread.check()
        self.bus.publish(topic, events)

    def publisher(self, topic: str) -> Callable[[Sequence[RawEvent]], None]:
        """A ``publish`` callable for a source writing to ``topic``."""
        return lambda events: self.publish(topic, events)

    def finish(self, timeout: float | None = None) -> StreamsCounters:
        for name in TOPICS:
            self.bus.close(name)
        self._thread.join(timeout)
        return self.counters


@dataclass
class HelixCapture:
    """The poller (and discovery) to run on the capture loop, publishing into ``streams`` (the
    in-process streams dataflow) or, in distributed mode (``streams`` None), into Kafka through
    ``publisher``."""

    streams: EmbeddedStreams | None
    poller: HelixStreamsPoller
    discovery: Discovery | None = None
    publisher: KafkaPublisher[RawEvent] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def attach(self, join: Callable[[str], None], part: Callable[[str], None]) -> None:
        """Hand discovery's joins/parts to the IRC source (call before :meth:`start`)."""
        if self.discovery is not None:
            self.discovery.on_join, self.discovery.on_part = join, part

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the poller (and discovery) as tasks of ``loop`` (from that loop's thread)."""
        self._tasks.append(loop.create_task(self.poller.run(), name="helix-poller"))
        if self.discovery is not None:
            self._tasks.append(loop.create_task(self.discovery.run(), name="discovery"))

    async def stop(self) -> None:
        await self.poller.stop()
        if self.discovery is not None:
            await self.discovery.stop()
            await self.discovery.client.aclose()
        if self._tasks:
            # A request paced by the rate limit may be sleeping until the bucket's reset: don't wait.
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)


def helix_capture(
    settings: Settings,
    logins: Sequence[str],
    discover: DiscoveryFilters | None,
    publisher: KafkaPublisher[RawEvent] | None = None,
) -> HelixCapture | None:
    """The Helix side of ``up``, or None when no client id/secret is configured.

    Samples go to ``publisher`` (Kafka, read by the streams dataflow of ``up --kafka``) when given,
    else into a new in-process :class:`EmbeddedStreams`.
    """
    creds = HelixStreamsPoller.credentials_from(settings)
    if creds is None:
        return None
    streams: EmbeddedStreams | None = None
    publish: Callable[[Sequence[RawEvent]], None]
    if publisher is not None:
        publish = publisher.publish
    else:
        streams = EmbeddedStreams.from_settings(settings).start()
        publish = streams.publisher(topics.HELIX_STREAMS.name)
    poller = HelixStreamsPoller.from_settings(logins, publish, settings)
    discovery = None
    if discover is not None:
        client = HelixClient(
            creds[0], creds[1], helix_url=settings.twitch_helix_url, auth_url=settings.twitch_auth_url
        )
        discovery = Discovery(
            client, discover, join=lambda _: None, part=lambda _: None, poller=poller, pinned=logins,
            interval_s=settings.discovery_interval_s,
        )  # fmt: skip
    return HelixCapture(streams, poller, discovery, publisher)


class EventSubCapture:
    """EventSub for ``streamscope up``: on the capture loop it resolves the channels' ids through
    Helix ``GET /users`` (user token), then runs :class:`~streamscope.sources.eventsub.EventSubSource` for the
    stream events (online, offline, title/game changes; chat is IRC's job in ``up``), whose frames go
    to ``publish`` (the streams dataflow's EVENTSUB_RAW topic, in-process or Kafka).

    A failure (token refused, Helix unreachable) is logged and leaves IRC capture running; it is
    never raised into ``up``. ``streams`` is an :class:`EmbeddedStreams` this capture owns (started
    because no Helix poller had one) and finishes in :meth:`finish`.
    """

    def __init__(
        self,
        logins: Sequence[str],
        publish: Callable[[list[RawEvent]], None],
        streams: EmbeddedStreams | None = None,
    ) -> None:
        self.logins = list(logins)
        self.publish = publish
        self.streams = streams
        self.source: EventSubSource | None = None
        #: The Kafka producer behind ``publish`` in distributed mode (closed by ``up`` at the end).
        self.publisher: KafkaPublisher[RawEvent] | None = None
        self.error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start as a task of ``loop`` (from that loop's thread)."""
        self._task = loop.create_task(self._run(), name="eventsub")

    async def _run(self) -> None:
        try:
            # Chat comes from IRC in `up`: EventSub chat too would store every message twice (the two
            # carry different send times, and the tables' keys include the send time).
            self.source, found = await EventSubSource.for_logins(self.logins, self.publish, chat=False)
            if found.missing:
                log.warning("EventSub: Twitch does not know %s; left out", ", ".join(found.missing))
            log.info("EventSub: subscribing for %d channel(s) as %s", len(found.channels), found.user_login)
            await self.source.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # chat keeps flowing over IRC; say why EventSub is off
            self.error = exc
            log.error("EventSub stopped: %s (chat is still captured over IRC)", exc)

    async def stop(self) -> None:
        if self.source is not None:
            await self.source.stop()
        if self._task is not None:
            _, pending = await asyncio.wait({self._task}, timeout=10)
            for task in pending:
                task.cancel()

    def finish(self, timeout: float | None = None) -> StreamsCounters | None:
        return self.streams.finish(timeout) if self.streams is not None else None


NO_USER_TOKEN = (
    "EventSub (stream online/offline, title changes, authenticated chat) needs "
    "STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_USER_TOKEN"
)


def eventsub_capture(
    settings: Settings,
    logins: Sequence[str],
    *,
    streams: EmbeddedStreams | None = None,
    publish: Callable[[list[RawEvent]], None] | None = None,
) -> EventSubCapture | None:
    """EventSub for ``up`` when a user token and client id are set (else None).

    Frames go to ``publish`` when given (Kafka), else into ``streams`` (the Helix side's in-process
    streams dataflow), else into a new :class:`EmbeddedStreams` the capture owns.
    """
    if not settings.twitch_client_id or settings.twitch_user_token is None or not logins:
        return None
    if publish is not None:
        return EventSubCapture(logins, publish)
    owned = None
    if streams is None:
        streams = owned = EmbeddedStreams.from_settings(settings).start()
    return EventSubCapture(logins, streams.publisher(topics.EVENTSUB_RAW.name), owned)
