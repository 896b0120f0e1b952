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

:meth:`Warehouse.version` tells whether a table changed, for readers that keep what they read between
requests (the moderation and room timelines of :mod:`streamscope.query.timelines`): a value that
differs after any INSERT, merge, mutation, TRUNCATE or re-creation of the table. With chDB it reads
the table's data directory (the names of its part directories, which ClickHouse never reuses: block
numbers only grow) and its metadata file (its definition and UUID), both found once through
``system.tables``: some tens of microseconds, where any SQL query costs the engine milliseconds of
planning. With a server it is one ``system.parts`` query.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from clickhouse_connect.driver.client import Client

from streamscope.warehouse.client import connect

#: Read clients per process. Tried on 2 cores: a 100-row FINAL page from 1M rows, 152 queries/s on
#: one client, 221/s on four; more clients than cores mostly queue inside the engine.
READERS = 4

A = TypeVar("A")
B = TypeVar("B")

# Entries of a MergeTree table's directory that are not (committed or outdated) data parts: parts
# being written, merged, mutated, fetched or removed, and detached ones.
_NOT_PARTS = ("tmp", "delete_tmp", "detached", "moving")

_LOCATE_SQL = """
SELECT data_paths, metadata_path FROM system.tables WHERE database = currentDatabase() AND name = {t:String}
"""
_PARTS_SQL = """
SELECT (SELECT toString(uuid) FROM system.tables WHERE database = currentDatabase() AND name = {t:String}),
       arraySort(groupArray(name))
FROM system.parts WHERE database = currentDatabase() AND table = {t:String} AND active
"""


class _Location(NamedTuple):
    """Where a chDB table keeps its parts, and its metadata file (its definition, with its UUID)."""

    data: str
    metadata: str
    definition: bytes


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


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
        self._locations: dict[str, _Location] = {}

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

    def version(self, table: str) -> Hashable | None:
        """A value that changes whenever the rows of ``table`` (in this handle's database) may have
        changed (module docstring); None when it cannot be told (not a MergeTree table on disk).

        Read it *before* reading the rows it labels: rows read afterwards are at least as new, so a
        later equal version proves them current; a write committed in between makes it differ."""
        if self._path is None:
            ((uuid, parts),) = self.rows(_PARTS_SQL, {"t": table})
            return (uuid, tuple(parts))
        for _ in range(2):
            where = self._locations.get(table) or self._locate(table)
            if where is None:
                return None
            try:
                # The metadata file is written by CREATE (with the table's UUID, which names its data
                # directory) and ALTER: another definition means the table may now keep its parts
                # elsewhere (a dropped table's directory lingers), so it is looked up again.
                if _read(where.metadata) == where.definition:
                    parts = frozenset(n for n in os.listdir(where.data) if not n.startswith(_NOT_PARTS))
                    return where.data, where.definition, parts
            except FileNotFoundError:  # dropped (and maybe created again)
                pass
            self._locations.pop(table, None)
        return None

    def _locate(self, table: str) -> _Location | None:
        """``table``'s data directory and metadata file, from ``system.tables``; None when it has no
        single data directory under the engine's ``store`` (a view, a missing table)."""
        found = self.rows(_LOCATE_SQL, {"t": table})
        if not found or len(found[0][0]) != 1 or "/store/" not in found[0][0][0]:
            return None
        data, metadata = str(found[0][0][0]), str(found[0][1])
        root = data.rsplit("/store/", 1)[0]
        try:
            # The definition first, then the directory confirmed: a re-creation in between changes
            # the definition again.
            where = _Location(data, os.path.join(root, metadata), _read(os.path.join(root, metadata)))
        except FileNotFoundError:
            return None
        again = self.rows(_LOCATE_SQL, {"t": table})
        if not again or list(again[0][0]) != [data]:
            return None
        self._locations[table] = where
        return where

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
