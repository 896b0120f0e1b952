"""Pacing Helix requests by the ``Ratelimit-*`` headers Twitch sends with every answer.

Helix gives an app token a bucket of points (800 per minute) that refills continuously:
``Ratelimit-Limit`` is its size, ``Ratelimit-Remaining`` what is left, ``Ratelimit-Reset`` the Unix
epoch second at which it is full again. :class:`RateLimit` turns the last seen headers into a delay
before the next request:

* while more than ``low_water`` (a fraction of the limit) remains, no delay;
* below that, the remaining points are spread over the time until reset, so the bucket is drawn
  down slowly instead of emptied (refills keep arriving meanwhile);
* at ``reserve`` points or fewer (or after a 429), wait until the reset time.

Each request also spends one point locally, so back-to-back requests slow down even before their
answers' headers arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class RateLimit:
    """The bucket as last reported by Helix (``None`` until the first answer)."""

    low_water: float = 0.25
    reserve: int = 1
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None

    def update(self, headers: Mapping[str, str]) -> None:
        """Take the bucket state from a response's headers (absent or garbled headers: ignored)."""
        try:
            limit = int(headers["ratelimit-limit"])
            remaining = int(headers["ratelimit-remaining"])
            reset = float(headers["ratelimit-reset"])
        except (KeyError, ValueError):
            return
        self.limit, self.remaining, self.reset = limit, max(remaining, 0), reset

    def exhausted(self, headers: Mapping[str, str]) -> None:
        """A 429: the bucket is empty until ``Ratelimit-Reset`` (or as last known)."""
        self.update(headers)
        self.remaining = 0

    def spend(self, points: int = 1) -> None:
        if self.remaining is not None:
            self.remaining = max(self.remaining - points, 0)

    def delay(self, now: float) -> float:
        """Seconds to wait before the next request."""
        if self.remaining is None or self.reset is None or self.limit is None:
            return 0.0
        until_reset = self.reset - now
        if until_reset <= 0:
            return 0.0
        if self.remaining <= self.reserve:
            return until_reset
        if self.remaining > self.limit * self.low_water:
            return 0.0
        return until_reset / (self.remaining - self.reserve)
