"""What a running capture reports: its counters, and its failures to reach its source.

A runner that cannot reach its source (a closed port, a DNS failure, Twitch answering 5xx) retries,
noting each failure with :meth:`Progress.source_failed` so ``/status`` shows it while it retries,
and gives up with :class:`SourceUnreachable` once ``settings.capture_connect_timeout_s`` passed
without reaching it: a job never holds its slot waiting for a source that is not there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


class SourceUnreachable(ConnectionError):
    """A capture gave up reaching its source (IRC, GQL) within its connect timeout; the message says
    where it tried, how often, for how long, and the last error."""


@dataclass
class Progress:
    """Counters of a running capture, updated after every batch written (read from any thread)."""

    messages: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    failed_attempts: int = 0
    """Attempts to reach the source that failed (connects refused or timed out, HTTP errors)."""
    last_error: str | None = None
    """The most recent of those failures, one line; None while there was none."""

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Messages per second since the start."""
        elapsed = self.elapsed
        return self.messages / elapsed if elapsed > 0 else 0.0

    def source_failed(self, error: str) -> None:
        """Note one failed attempt to reach the source (the runner retries, or gives up)."""
        self.failed_attempts += 1
        self.last_error = error


def unreachable(what: str, attempts: int, last_error: str | None, timeout_s: float) -> SourceUnreachable:
    """The error a runner raises when ``what`` (e.g. ``Twitch IRC at wss://...``) stayed out of reach
    for ``timeout_s`` seconds, over ``attempts`` failed attempts, the last failing with ``last_error``."""
    last = f"; the last error: {last_error}" if last_error else ""
    return SourceUnreachable(
        f"could not reach {what} within {timeout_s:g} s "
        f"({attempts} failed attempt{'s' if attempts != 1 else ''}){last}"
    )


def describe(exc: BaseException) -> str:
    """A one-line reason for ``exc`` (no traceback; a timeout's empty text becomes its type name).

    Job errors are shown to any API client: they may name the IRC and GQL URLs, which carry no tokens.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
