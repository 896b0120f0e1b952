"""Thin Bytewax adapters for the batching warehouse writers (one writer per sink partition).

A writer is anything with ``add(batch)``, ``flush()`` and ``close()`` (:class:`streamscope.sinks.clickhouse.
WarehouseWriter`, :class:`streamscope.sinks.streams.StreamsWriter`), built by a factory once per partition.

:class:`EpochWriterSink` (every dataflow, embedded or recoverable): items are ``(key, batch)``, routed to
  ``partitions`` writers by a stable hash of the key (so one Kafka partition's rows stay on one
  writer, in order). Writers also flush in ``snapshot()``, which Bytewax calls at the end of every
  epoch before it records the epoch's input positions: a committed epoch never has rows waiting in
  memory, and a crash re-reads at most the uncommitted epoch, whose re-inserted rows the tables'
  ReplacingMergeTree keys merge away.

:class:`KeyRoutedSink` is that routing alone, for a sink whose parts are not batching writers (the
stats sink inserts within ``write_batch``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

B = TypeVar("B")
B_contra = TypeVar("B_contra", contravariant=True)


class Writer(Protocol[B_contra]):
    def add(self, batch: B_contra) -> None: ...

    def flush(self) -> object: ...

    def close(self) -> None: ...


class _Writes(Generic[B]):
    _writer: Writer[B]

    def write_batch(self, items: list[B]) -> None:
        for batch in items:
            self._writer.add(batch)

    def close(self) -> None:
        self._writer.close()


class _EpochPartition(_Writes[B], StatefulSinkPartition[B, None]):
    def __init__(self, writer: Writer[B]) -> None:
        self._writer = writer

    def snapshot(self) -> None:
        self._writer.flush()


class KeyRoutedSink(FixedPartitionedSink[B, None]):
    """``partitions`` parts named ``{name}-{i}``; an item ``(key, value)`` goes to the part a stable
    hash of its key picks. Subclasses build the parts."""

    def __init__(self, *, partitions: int, name: str) -> None:
        self._parts = [f"{name}-{i}" for i in range(max(1, partitions))]

    def list_parts(self) -> list[str]:
        return self._parts

    def part_fn(self, item_key: str) -> int:
        return zlib.crc32(item_key.encode())  # stable across processes, unlike hash()


class EpochWriterSink(KeyRoutedSink[B]):
    """``partitions`` writers named ``{name}-{i}``, flushed at every epoch (see the module docstring)."""

    def __init__(
        self, make_writer: Callable[[], Writer[B]], *, partitions: int = 1, name: str = "writer"
    ) -> None:
        super().__init__(partitions=partitions, name=name)
        self._make = make_writer

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _EpochPartition[B]:
        return _EpochPartition(self._make())
