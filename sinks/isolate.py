"""Inserting a batch while isolating the rows the warehouse refuses, shared by the writers.

A batch the server (or the client, while encoding) refuses as data is split in halves until the
refused rows are isolated; each goes to ``on_refused(row, error)`` (the writers make a dead letter
of it) and every other row is stored. Connection failures are not data errors: ``insert`` retries
those itself. A batch with k bad rows costs about 2·k·log2(n) extra INSERTs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clickhouse_connect.driver.exceptions import DatabaseError

Row = tuple[Any, ...]


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
