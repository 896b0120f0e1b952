"""Inserting a batch while isolating the rows the warehouse refuses, shared by the writers.

A batch the server (or the client, while encoding) refuses as data is split in halves until the
refused rows are isolated; each goes to ``on_refused(row, error)`` (the writers make a dead letter
of it) and every other row is stored. Connection failures are not data errors: ``insert`` retries
those itself. A batch with k bad rows costs about 2·k·log2(n) extra INSERTs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

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
