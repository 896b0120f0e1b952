"""Discovery: follow whoever is live — top streams from Helix, joined and parted on the IRC source.

Every ``interval_s`` :meth:`Discovery.refresh` pages ``GET /streams?first=100`` (Helix orders live
streams by viewers, most first) with the ``after`` cursor, filtered by ``language`` and ``game_id``
on Twitch's side and by ``min_viewers`` here, until ``max_channels`` are found, a page falls below
``min_viewers`` (later pages only have fewer viewers), or the cursor ends. The channels found are
handed to the ``follow`` callback (``join`` for new ones, ``part`` for those that left the set); the
IRC source rate-limits its JOINs itself, and the poller (when given) tracks the same set so every
followed channel gets viewer samples and its sessions close when it goes offline. ``pinned``
channels (given by the user) are never parted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from streamscope.sources.helix.client import HelixClient, HelixError
from streamscope.sources.helix.clock import WALL_CLOCK, Clock
from streamscope.sources.helix.poller import HelixStreamsPoller
from streamscope.twitch.helix import parse_body
from streamscope.twitch.logins import normalize_login


@dataclass(frozen=True, slots=True)
class DiscoveryFilters:
    min_viewers: int = 0
    languages: tuple[str, ...] = ()
    game_ids: tuple[str, ...] = ()
    max_channels: int = 100


@dataclass(slots=True)
class DiscoveryResult:
    channels: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    parted: list[str] = field(default_factory=list)
    pages: int = 0


log = logging.getLogger(__name__)


class Discovery:
    """Keeps ``join``/``part`` (e.g. a running ``TwitchIrcSource``'s) on the top live channels."""

    def __init__(
        self,
        client: HelixClient,
        filters: DiscoveryFilters,
        join: Callable[[str], None],
        part: Callable[[str], None],
        *,
        poller: HelixStreamsPoller | None = None,
        pinned: Sequence[str] = (),
        interval_s: float = 120.0,
        clock: Clock = WALL_CLOCK,
    ) -> None:
        self.client = client
        self.filters = filters
        self.on_join = join
        self.on_part = part
        self._poller = poller
        self.pinned = [normalize_login(p) for p in pinned]
        self._interval = interval_s
        self._clock = clock
        self.following: list[str] = []
        self._stop = asyncio.Event()

    async def top_channels(self) -> tuple[list[str], int]:
        """(logins of the top live channels passing the filters, pages read)."""
        f = self.filters
        found: list[str] = []
        cursor: str | None = None
        pages = 0
        while len(found) < f.max_channels:
            params: list[tuple[str, str]] = [("first", "100")]
            params += [("language", lang) for lang in f.languages]
            params += [("game_id", g) for g in f.game_ids]
            if cursor:
                params.append(("after", cursor))
            response = await self.client.get("/streams", params)
            pages += 1
            poll = parse_body(orjson.loads(response.body), int(response.received_at * 1000))
            below = False
            for sample in poll.samples:
                if sample.viewers < f.min_viewers:
                    below = True
                    continue
                if sample.channel not in found:
                    found.append(sample.channel)
                if len(found) >= f.max_channels:
                    break
            cursor = poll.cursor
            if below or not cursor or not poll.samples:
                break
        return found, pages

    async def refresh(self) -> DiscoveryResult:
        """One discovery pass: read the top channels, join the new ones, part the ones gone."""
        channels, pages = await self.top_channels()
        current = set(channels)
        before = set(self.following)
        result = DiscoveryResult(channels, [c for c in channels if c not in before], [], pages)
        # Channels given by the user (pinned) are captured whatever discovery finds.
        result.parted = [c for c in self.following if c not in current and c not in self.pinned]
        for login in result.parted:
            self.on_part(login)
        for login in result.joined:
            if login not in self.pinned:
                self.on_join(login)
        self.following = channels
        if self._poller is not None:
            self._poller.set_logins([*self.pinned, *channels])
        if result.joined or result.parted:
            log.info(
                "discovery: following %d channels (+%d, -%d)",
                len(channels),
                len(result.joined),
                len(result.parted),
            )
        return result

    async def run(self) -> None:
        """Refresh every ``interval_s`` until :meth:`stop` (a failed pass is logged and retried)."""
        while not self._stop.is_set():
            try:
                await self.refresh()
            except HelixError as exc:
                log.warning("discovery pass failed: %s", exc)
            sleeper = asyncio.ensure_future(self._clock.sleep(self._interval))
            stopper = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, stopper):
                task.cancel()

    async def stop(self) -> None:
        self._stop.set()


def parse_languages(values: Sequence[str]) -> tuple[str, ...]:
    """``--language en,de --language fr`` -> ("en", "de", "fr"); each a two-letter code or ``other``."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            code = part.strip().lower()
            if not code:
                continue
            if not (code == "other" or (len(code) == 2 and code.isalpha())):
                raise ValueError(f"language {part.strip()!r} is not an ISO 639-1 code (e.g. en) or 'other'")
            if code not in out:
                out.append(code)
    return tuple(out)
