"""Inserting a batch while isolating the rows the warehouse refuses, shared by the writers.

A batch the server (or the client, while encoding) refuses as data is split in halves until the
refused rows are isolated; each goes to ``on_refused(row, error)`` (the writers make a dead letter
of it) and every other row is stored. Connection failures are not data errors: ``insert`` retries
those itself. A batch with k bad rows costs about 2·k·log2(n) extra INSERTs.

:class:`DeadLetteringInserts` is that, plus the dead letters, for the writers of typed rows
(streams, transcripts): refused rows become ``dead_letters`` rows (:func:`refused_row`), stored
once the flush's tables are done.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from streamscope import metrics
from streamscope.timeutil import MAX_MS
from streamscope.warehouse.rows import DEAD_LETTER_COLUMNS

log = logging.getLogger(__name__)

Row = tuple[Any, ...]


def retry_unreachable(action: Callable[[], object], max_backoff_s: float) -> None:
    """Run ``action``, retrying while the warehouse is unreachable (capped exponential backoff,
    forever: rows are never dropped because a server is away)."""
    delay = 0.2
    while True:
        try:
            action()
            return
        except OperationalError as exc:
            log.warning("warehouse unreachable (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_backoff_s)


def insert_rows(
    client: Client,
    table: str,
    columns: Sequence[str],
    rows: list[Row],
    on_refused: Callable[[Row, Exception], object],
    max_backoff_s: float,
) -> int:
    """Insert ``rows`` into ``table``: retried while unreachable, refused rows isolated (below)."""

    def insert(part: list[Row]) -> None:
        retry_unreachable(lambda: client.insert(table, part, column_names=columns), max_backoff_s)

    return insert_isolating(insert, rows, on_refused)


def insert_isolating(
    insert: Callable[[list[Row]], object],
    rows: list[Row],
    on_refused: Callable[[Row, Exception], object],
) -> int:
    """Insert ``rows`` with ``insert``; returns how many were stored (see the module docstring)."""
    if not rows:
        return 0
    try:
        insert(rows)
        return len(rows)
    except (DatabaseError, ValueError, TypeError) as exc:
        if len(rows) == 1:
            on_refused(rows[0], exc)
            return 0
        mid = len(rows) // 2
        return insert_isolating(insert, rows[:mid], on_refused) + insert_isolating(
            insert, rows[mid:], on_refused
        )


class DeadLetteringInserts:
    """The inserts of one flush: :meth:`insert` stores a table's rows (:func:`insert_rows`) and keeps
    each refused row as a dead letter (:func:`refused_row`); :meth:`store_dead_letters` then writes
    them to ``dead_letters`` (retried while unreachable) and counts them (stage ``insert``). A writer
    empties its buffer only after both, so a failure midway loses no row."""

    def __init__(self, client: Client, max_backoff_s: float) -> None:
        self._client = client
        self._max_backoff = max_backoff_s
        self.rejected: list[Row] = []

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> int:
        """Insert ``rows`` into ``table``; returns how many were stored."""
        return insert_rows(
            self._client, table, columns, list(rows),
            lambda row, exc: self.rejected.append(refused_row(table, columns, row, exc)), self._max_backoff,
        )  # fmt: skip

    def store_dead_letters(self) -> int:
        """Write the dead letters of every refused row so far; returns how many."""
        rejected = self.rejected
        if rejected:
            log.warning(
                "%d row(s) refused by the warehouse, dead-lettered: %s", len(rejected), rejected[0][4]
            )
            retry_unreachable(
                lambda: self._client.insert("dead_letters", rejected, column_names=DEAD_LETTER_COLUMNS),
                self._max_backoff,
            )
            metrics.DEAD_LETTERS.labels(stage="insert").inc(len(rejected))
        return len(rejected)


def refused_row(table: str, columns: Sequence[str], row: Row, exc: Exception) -> Row:
    """The ``dead_letters`` row of a row ``table`` refused: stage ``insert``, the error's first line as
    reason, the row as JSON.

    Its time is the row's own observation time (``sampled_at``, else ``last_sample_at``,
    ``last_seen``, ``started_at``, or a transcript's ``start``) when that is a valid timestamp, so
    that a row refused again after a crash and a re-delivery gives the same dead letter, which
    ``dead_letters`` stores once.
    Only a row whose times are themselves invalid (what may have been refused) is dead-lettered at
    the current time."""
    values = dict(zip(columns, row, strict=False))
    channel = values.get("channel", values.get("login", ""))
    return (
        _observed_at(values),
        str(values.get("source", "")),
        channel if isinstance(channel, str) else repr(channel),
        "insert",
        f"insert into {table} failed: {(str(exc).splitlines() or [type(exc).__name__])[0][:500]}",
        json.dumps(values, default=repr),  # json, not orjson: ints beyond 64 bits are kept as written
    )


def _observed_at(values: dict[str, Any]) -> int:
    for name in ("sampled_at", "last_sample_at", "last_seen", "started_at", "start"):
        at = values.get(name)
        if isinstance(at, int) and not isinstance(at, bool) and 0 <= at < MAX_MS:
            return at
    return int(time.time() * 1000)
