"""Bytewax input that reads batches of records from the bus.

Each item it emits is one *batch* (a list of records), never a single record: per-item overhead in
the dataflow is paid once per batch, which is what lets one core parse and store tens of thousands
of lines per second. When the topic is idle it emits an empty batch every ``tick_s`` so downstream
time-based flushes still happen. It ends (StopIteration) when the producer closed the topic and the
buffer is drained.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Generic, TypeVar

from bytewax.inputs import DynamicSource, StatelessSourcePartition

from streamscope.bus import Bus, EndOfStream

T = TypeVar("T")


class BusInput(DynamicSource[list[T]], Generic[T]):
    """All workers poll the same topic; the bus hands each record to exactly one of them."""

    def __init__(self, bus: Bus[T], topic: str, *, batch_size: int = 2000, tick_s: float = 0.5) -> None:
        self._bus = bus
        self._topic = topic
        self._batch_size = batch_size
        self._tick_s = tick_s

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _BusPartition[T]:
        return _BusPartition(self._bus, self._topic, self._batch_size, self._tick_s)


class _BusPartition(StatelessSourcePartition[list[T]], Generic[T]):
    def __init__(self, bus: Bus[T], topic: str, batch_size: int, tick_s: float) -> None:
        self._bus = bus
        self._topic = topic
        self._batch_size = batch_size
        self._tick_s = tick_s
        self._last_emit = monotonic()
        self._idle = False

    def next_batch(self) -> list[list[T]]:
        try:
            records = self._bus.poll(self._topic, self._batch_size)
        except EndOfStream:
            raise StopIteration from None
        now = monotonic()
        if records:
            self._idle = False
            self._last_emit = now
            return [records]
        self._idle = True
        if now - self._last_emit >= self._tick_s:
            self._last_emit = now
            return [[]]
        return []

    def next_awake(self) -> datetime | None:
        # Poll again soon when idle instead of spinning; at full speed poll immediately.
        if self._idle:
            return datetime.now(UTC) + timedelta(milliseconds=20)
        return None
