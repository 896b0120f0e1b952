"""The Helix ``/streams`` poller source: viewer counts of the tracked channels, every N seconds.

Like :class:`streamscope.sources.twitch_irc.TwitchIrcSource` it only captures: each answer is published as it
came, wrapped in the :data:`streamscope.topics.HELIX_STREAMS` envelope, as a
``RawEvent(kind="helix.streams")`` through the ``publish`` callable (parsing is the streams
dataflow's job). One round asks for all tracked logins in requests of up to 100 ``user_login``
each; rounds start every ``interval_s`` (a round that takes longer, because the rate limit paces
it, is followed by the next one at once). A request that fails for good is logged and counted and
the round goes on; nothing is published for it, so no channel is taken for offline by mistake.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from streamscope.records import RawEvent
from streamscope.settings import Settings
from streamscope.sources.helix.client import HelixClient, HelixError
from streamscope.sources.helix.clock import WALL_CLOCK, Clock
from streamscope.twitch.helix import envelope
from streamscope.twitch.logins import normalize_logins

log = logging.getLogger(__name__)

MAX_LOGINS_PER_REQUEST = 100
KIND = "helix.streams"


def batches(logins: Sequence[str], size: int = MAX_LOGINS_PER_REQUEST) -> list[list[str]]:
    """``logins`` in request-sized slices, order kept."""
    return [list(logins[i : i + size]) for i in range(0, len(logins), size)]


@dataclass(frozen=True, slots=True)
class PollerStats:
    rounds: int
    requests: int
    published: int
    failures: int
    rate_limited: int
    paced_s: float
    channels: int


class HelixStreamsPoller:
    """Polls ``GET /streams?user_login=...`` for the tracked channels (see the module contract)."""

    @classmethod
    def from_settings(
        cls, logins: Iterable[str], publish: Callable[[Sequence[RawEvent]], None], settings: Settings
    ) -> HelixStreamsPoller:
        """A poller with the settings' credentials, URLs and interval; ValueError without credentials."""
        if not settings.twitch_client_id or settings.twitch_client_secret is None:
            raise ValueError("STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_CLIENT_SECRET are not set")
        client = HelixClient(
            settings.twitch_client_id,
            settings.twitch_client_secret,
            helix_url=settings.twitch_helix_url,
            auth_url=settings.twitch_auth_url,
        )
        return cls(logins, publish, client, interval_s=settings.helix_poll_interval_s)

    def __init__(
        self,
        logins: Iterable[str],
        publish: Callable[[Sequence[RawEvent]], None],
        client: HelixClient,
        *,
        interval_s: float = 60.0,
        clock: Clock = WALL_CLOCK,
    ) -> None:
        self._logins: list[str] = normalize_logins(logins)
        self._publish = publish
        self.client = client
        self._interval = interval_s
        self._clock = clock
        self._stop = asyncio.Event()
        self._rounds = self._published = self._failures = 0

    @staticmethod
    def credentials_from(settings: Settings) -> tuple[str, SecretStr] | None:
        """(client id, secret) when both are configured, else None."""
        if settings.twitch_client_id and settings.twitch_client_secret is not None:
            return settings.twitch_client_id, settings.twitch_client_secret
        return None

    @property
    def logins(self) -> list[str]:
        return list(self._logins)

    def set_logins(self, logins: Iterable[str]) -> None:
        """Track exactly these channels from the next request on (discovery calls this)."""
        self._logins = normalize_logins(logins)

    async def poll_once(self) -> int:
        """One round over all tracked logins; returns how many envelopes were published."""
        published = 0
        for chunk in batches(self._logins):
            params = [("user_login", login) for login in chunk] + [("first", str(MAX_LOGINS_PER_REQUEST))]
            try:
                response = await self.client.get("/streams", params)
            except HelixError as exc:
                self._failures += 1
                log.warning("helix poll of %d channels failed: %s", len(chunk), exc)
                continue
            polled_at = int(response.received_at * 1000)
            try:
                payload = envelope(polled_at, chunk, response.body)
            except ValueError as exc:  # not JSON: nothing to publish, and no absence to infer
                self._failures += 1
                log.warning("helix /streams answered non-JSON (%s)", exc)
                continue
            self._publish([RawEvent("", KIND, payload, polled_at, "helix")])
            published += 1
            self._published += 1
        self._rounds += 1
        return published

    async def run(self) -> None:
        """Poll every ``interval_s`` until :meth:`stop`; closes the HTTP client at the end."""
        try:
            while not self._stop.is_set():
                started = self._clock.now()
                await self.poll_once()
                wait = self._interval - (self._clock.now() - started)
                if wait > 0:
                    sleeper = asyncio.ensure_future(self._clock.sleep(wait))
                    stopper = asyncio.ensure_future(self._stop.wait())
                    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    for task in (sleeper, stopper):
                        task.cancel()
        finally:
            await self.client.aclose()

    async def stop(self) -> None:
        self._stop.set()

    def stats(self) -> PollerStats:
        s = self.client.stats
        return PollerStats(
            self._rounds, s.requests, self._published, self._failures, s.rate_limited, s.paced_s,
            len(self._logins),
        )  # fmt: skip
