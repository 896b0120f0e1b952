"""Request dependencies, as ``Annotated`` aliases for route signatures.

The warehouse client lives on ``app.state.warehouse`` (made once per process by
:func:`streamscope.api.app.create_app`). clickhouse-connect clients are not safe for concurrent queries on one
client, and chDB allows one engine per process, so :class:`Warehouse` serialises queries on one
client with a lock instead of opening a pool. Routes are plain ``def`` functions: FastAPI runs them
on its thread pool, so a slow query blocks a worker thread, never the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

from clickhouse_connect.driver.client import Client
from fastapi import Depends, Request


class Warehouse:
    """A clickhouse-connect client shared by all requests of the process, one query at a time."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()

    def rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        """Run ``sql`` with server-side bound ``{name:Type}`` parameters; all result rows."""
        with self._lock:
            return self.client.query(sql, parameters=dict(parameters or {})).result_rows

    def named(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Like :meth:`rows`, each row as ``{column name: value}``."""
        with self._lock:
            result = self.client.query(sql, parameters=dict(parameters or {}))
            names = result.column_names
            return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    @contextmanager
    def exclusive(self) -> Iterator[Client]:
        """The client, held for a whole streamed query (an export): other queries wait."""
        with self._lock:
            yield self.client


def get_warehouse(request: Request) -> Warehouse:
    warehouse: Warehouse = request.app.state.warehouse
    return warehouse


WarehouseDep = Annotated[Warehouse, Depends(get_warehouse)]
