"""The warehouse handle every reader of a process takes: concurrent reads on a small pool of clients.

A clickhouse-connect client runs one query at a time (its chDB handle has a lock of its own), but
chDB allows any number of handles on the process's one engine, and queries on different handles run
in parallel (the engine releases the GIL while it works). So with chDB, :meth:`Warehouse.rows` runs
each query on one of at most ``readers`` clients of its own, opened on first need on the same
directory and database and kept for the next query; more concurrent readers than that wait for a
free client. The client given to the constructor is not one of them: whatever else uses it (in
tests, the inserts; in ``streamscope up``, nothing but this handle, since the dataflows' writers have
clients of their own) never waits behind a read. With a ClickHouse server there is no pool: a
clickhouse-connect HTTP client keeps one server session, which takes one query at a time, so queries
are serialised on the given client with a lock.

A long streamed read (an export) takes a client of its own from :meth:`Warehouse.stream_client`: with
chDB a handle of its own (closed afterwards), so other queries go on while the stream is open; with a
ClickHouse server the shared client, held.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client

from streamscope.warehouse.client import connect

#: Read clients per process. Tried on 2 cores: a 100-row FINAL page from 1M rows, 152 queries/s on
#: one client, 221/s on four; more clients than cores mostly queue inside the engine.
READERS = 4

A = TypeVar("A")
B = TypeVar("B")


class Warehouse:
    """The process's warehouse: concurrent reads on up to ``readers`` chDB clients, or one query at
    a time on a ClickHouse server's client (see the module docstring)."""

    def __init__(self, client: Client, readers: int = READERS) -> None:
        self.client = client
        self._lock = threading.Lock()
        # Only clickhouse-connect's chDB client has a chdb:// uri and a path.
        path, uri = getattr(client, "path", None), str(getattr(client, "uri", ""))
        self._path = path if uri.startswith("chdb://") and isinstance(path, str) else None
        self._readers = max(1, readers)
        self._idle: list[Client] = []
        self._opened = 0
        self._closed = False
        self._free = threading.Condition()
        self._helpers: ThreadPoolExecutor | None = None

    def rows(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Sequence[Sequence[Any]]:
        """Run ``sql`` with server-side bound ``{name:Type}`` parameters (and per-query ClickHouse
        ``settings``); all result rows."""
        with self.reader() as client:
            query = client.query(sql, parameters=dict(parameters or {}), settings=dict(settings or {}))
            return query.result_rows

    def both(self, first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
        """The results of two independent reads of one request, run at the same time: ``first`` on
        this thread, ``second`` on a helper thread (there are as many as readers). With a ClickHouse
        server, whose queries run one at a time anyway, one after the other."""
        if self._path is None:
            return first(), second()
        with self._free:
            if self._helpers is None:
                self._helpers = ThreadPoolExecutor(self._readers, thread_name_prefix="warehouse-read")
            later = self._helpers.submit(second)
        try:
            now = first()
        finally:
            then = later.result()  # also when ``first`` failed: no read outlives its request
        return now, then

    @contextmanager
    def reader(self) -> Iterator[Client]:
        """A client for one short read, this thread's alone until the block ends (do not hold it
        across other reads: with every reader taken, those would wait for it)."""
        if self._path is None:
            with self.exclusive() as shared:
                yield shared
            return
        client = self._take()
        try:
            yield client
        finally:
            self._give(client)

    def _take(self) -> Client:
        with self._free:
            while not self._idle and self._opened >= self._readers:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._opened += 1
        try:
            return connect(f"chdb://{self._path}", self.client.database or "default", create=False)
        except BaseException:
            with self._free:
                self._opened -= 1
                self._free.notify()
            raise

    def _give(self, client: Client) -> None:
        with self._free:
            if not self._closed:
                self._idle.append(client)
                self._free.notify()
                return
            self._opened -= 1
        client.close()

    def close(self) -> None:
        """Close the read clients (those in use close when given back); the given client stays open."""
        with self._free:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            helpers, self._helpers = self._helpers, None
        if helpers is not None:
            helpers.shutdown(wait=False)
        for client in idle:
            client.close()

    @contextmanager
    def exclusive(self) -> Iterator[Client]:
        """The given client, held for a whole streamed query: other users of this handle wait."""
        with self._lock:
            yield self.client

    @contextmanager
    def stream_client(self) -> Iterator[Client]:
        """The client a long stream (an export) runs on: a handle of its own for chDB (closed
        afterwards), else the shared one, held for the whole stream."""
        if self._path is not None:
            own = connect(f"chdb://{self._path}", self.client.database or "default", create=False)
            try:
                yield own
            finally:
                own.close()
        else:
            with self.exclusive() as client:
                yield client
