"""Time for the Helix sources: wall-clock seconds and an awaitable sleep, replaceable in tests.

Helix states its rate limit with ``Ratelimit-Reset`` in Unix epoch seconds, so pacing works on the
wall clock; a test passes a clock whose ``sleep`` advances ``now`` instead of waiting, and the
loopback Helix server reads the same clock, so requests and refills are counted without real waits.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Unix epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake clock advances ``now`` by that much)."""
        ...


class WallClock:
    """The real clock: ``time.time`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


WALL_CLOCK: Clock = WallClock()
