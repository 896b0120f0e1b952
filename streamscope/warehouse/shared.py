"""One warehouse client shared by the threads of a process: the handle every reader takes.

clickhouse-connect clients are not safe for concurrent queries on one client, and chDB allows one
engine per process, so :class:`Warehouse` serialises queries on one client with a lock instead of
opening a pool. A long streamed read (an export) takes a client of its own from
:meth:`Warehouse.stream_client`: with chDB a second handle on the process's one engine, so other
queries go on while the stream is open; with a ClickHouse server the shared client, held.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope.warehouse.client import connect


class Warehouse:
    """A clickhouse-connect client shared by all threads of the process, one query at a time."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()

    def rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        """Run ``sql`` with server-side bound ``{name:Type}`` parameters; all result rows."""
        with self._lock:
            return self.client.query(sql, parameters=dict(parameters or {})).result_rows

    @contextmanager
    def exclusive(self) -> Iterator[Client]:
        """The client, held for a whole streamed query: other queries wait."""
        with self._lock:
            yield self.client

    @contextmanager
    def stream_client(self) -> Iterator[Client]:
        """The client a long stream (an export) runs on: a handle of its own for chDB (closed
        afterwards), else the shared one, held for the whole stream."""
        shared = self.client
        path = getattr(shared, "path", None)  # only clickhouse-connect's chDB client has a path
        if shared.uri.startswith("chdb://") and isinstance(path, str):
            own = connect(f"chdb://{path}", shared.database or "default", create=False)
            try:
                yield own
            finally:
                own.close()
        else:
            with self.exclusive() as client:
                yield client
