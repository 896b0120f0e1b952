"""The bus between sources and pipelines.

Embedded mode uses :class:`InProcessBus`: one bounded FIFO per topic inside the process. Kafka (the
distributed mode) implements the same two calls. Topics carry lists of records keyed by channel.

Contract:
* ``publish(topic, records)`` never drops: when a topic's buffer is full it blocks the publisher
  (backpressure), which for a live source means its socket reads pause instead of losing lines.
* ``poll(topic, max_records)`` never blocks: it returns what is there now, possibly nothing.
* ``close(topic)`` marks the end of a finite stream (a replay); ``poll`` then raises
  :class:`EndOfStream` once the buffer is drained.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from streamscope import topics

T = TypeVar("T")

#: Raw Twitch IRC lines (:class:`streamscope.records.RawLine`), keyed by channel login.
TOPIC_IRC_RAW = topics.IRC_RAW.name


class EndOfStream(Exception):
    """The topic was closed by its producer and everything published has been polled."""


class Bus(Protocol[T]):
    def publish(self, topic: str, records: Sequence[T]) -> None: ...

    def poll(self, topic: str, max_records: int) -> list[T]: ...

    def close(self, topic: str) -> None: ...


class _Topic(Generic[T]):
    __slots__ = ("items", "closed", "cond", "capacity")

    def __init__(self, capacity: int) -> None:
        self.items: deque[T] = deque()
        self.closed = False
        self.cond = threading.Condition()
        self.capacity = capacity


class InProcessBus(Generic[T]):
    """Thread-safe bounded in-process queues, one per topic."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._topics: dict[str, _Topic[T]] = {}
        self._lock = threading.Lock()

    def _topic(self, name: str) -> _Topic[T]:
        with self._lock:
            topic = self._topics.get(name)
            if topic is None:
                topic = self._topics[name] = _Topic(self._capacity)
            return topic

    def publish(self, topic: str, records: Sequence[T]) -> None:
        t = self._topic(topic)
        with t.cond:
            if t.closed:
                raise RuntimeError(f"topic {topic!r} is closed")
            i = 0
            while i < len(records):
                while len(t.items) >= t.capacity:
                    t.cond.wait(0.5)
                room = t.capacity - len(t.items)
                t.items.extend(records[i : i + room])
                i += room

    def poll(self, topic: str, max_records: int) -> list[T]:
        t = self._topic(topic)
        with t.cond:
            n = min(max_records, len(t.items))
            if n == 0:
                if t.closed:
                    raise EndOfStream(topic)
                return []
            popleft = t.items.popleft
            out = [popleft() for _ in range(n)]
            t.cond.notify_all()
            return out

    def close(self, topic: str) -> None:
        t = self._topic(topic)
        with t.cond:
            t.closed = True
            t.cond.notify_all()

    def pending(self, topic: str) -> int:
        """How many records wait in ``topic`` (for progress and metrics)."""
        t = self._topic(topic)
        with t.cond:
            return len(t.items)
