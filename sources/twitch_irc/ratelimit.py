"""The JOIN rate limit shared by every connection of one source."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class JoinLimiter:
    """A sliding-window log: at most ``limit`` acquisitions in any ``window_s`` seconds.

    A sliding log rather than a token bucket, because a bucket refilled continuously still allows
    ``limit`` plus a bit in some window, and Twitch counts JOINs per fixed-length window at its end.
    ``margin_s`` widens the window on our side: Twitch timestamps JOINs when they arrive, and
    network (or event-loop) jitter can bring two JOINs sent exactly one window apart closer.

    One limiter is shared by all connections of a source, so the limit holds per account/IP as
    Twitch enforces it, not per socket. Must be used from one event loop.
    """

    def __init__(self, limit: int, window_s: float, *, margin_s: float | None = None) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.margin_s = max(0.05, 0.02 * window_s) if margin_s is None else margin_s
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more JOIN fits in the window, then count it as sent (FIFO across callers)."""
        span = self.window_s + self.margin_s
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= span:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                await asyncio.sleep(span - (now - self._sent[0]))
