"""Hand-off from the event loop to a (possibly blocking) ``publish`` callable, in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from streamscope.records import RawLine


class Outbox:
    """Collects received lines and publishes them from a worker thread, oldest first.

    While one ``publish`` call runs (it may block on bus backpressure) new lines accumulate and go
    out together in the next call, so batches grow exactly when the consumer is slow and stay
    small (low latency) when it keeps up. Above ``max_pending`` lines :meth:`put` waits, which
    pauses the socket readers: backpressure reaches the server instead of lines being dropped.

    ``run`` returns after :meth:`close` once everything put has been published; if ``publish``
    raises, ``run`` raises that error (the lines of the failed batch are not retried here).
    """

    def __init__(self, publish: Callable[[list[RawLine]], None], *, max_pending: int = 50_000) -> None:
        self._publish = publish
        self._max_pending = max_pending
        self._pending: list[RawLine] = []
        self._closed = False
        self._cond = asyncio.Condition()
        self.published = 0

    async def put(self, lines: list[RawLine]) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: len(self._pending) < self._max_pending or self._closed)
            self._pending.extend(lines)
            self._cond.notify_all()

    async def close(self) -> None:
        async with self._cond:
            self._closed = True
            self._cond.notify_all()

    async def run(self) -> None:
        while True:
            async with self._cond:
                await self._cond.wait_for(lambda: bool(self._pending) or self._closed)
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
                self._cond.notify_all()
            await asyncio.to_thread(self._publish, batch)
            self.published += len(batch)
