"""Open the warehouse from a URL.

``chdb://DIR`` opens embedded chDB on a directory (relative paths are resolved against the current
directory; ``chdb://:memory:`` is in-memory); ``http(s)://user:password@host:port`` opens a ClickHouse
server. Both give the same clickhouse-connect ``Client`` and the same SQL.

chDB allows one engine directory per process: every client in a process must use the same DIR, and
the process that opens it owns the warehouse (in embedded mode the dataflows and the API share it).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

#: Startup options of the process's chDB engine (the first client opened sets them; later ones share
#: the engine). The uncompressed cache (0 by default) keeps decompressed blocks of the columns that
#: queries read with ``use_uncompressed_cache = 1``: the history pages do, and the next page of a
#: cursor walk mostly reads the granules its predecessor decompressed (``bench/api_pages.py``: the
#: rows query of a page from ~8.5 to ~6.3 ms of CPU). Only those reads fill it.
CHDB_ENGINE_OPTIONS = {"uncompressed_cache_size": str(256 * 1024 * 1024)}


class WarehouseError(RuntimeError):
    """The warehouse URL is unusable or the warehouse cannot be reached; the message says why."""


def redact(url: str) -> str:
    """The URL with any password replaced, safe for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def chdb_path(url: str) -> str | None:
    """The directory of a ``chdb://`` URL (``:memory:`` for in-memory), or None for a server URL."""
    if not url.startswith("chdb://"):
        return None
    path = url[len("chdb://") :]
    if not path or path in (":memory:", "memory"):
        return ":memory:"
    return str(Path(path).expanduser().resolve())


def connect(url: str, database: str, *, create: bool = True) -> Client:
    """A client of the warehouse at ``url`` whose default database is ``database`` (created when
    missing and ``create``); the app layer passes ``Settings.clickhouse_url``/``clickhouse_database``."""
    if not _DB_NAME.match(database):
        raise WarehouseError(f"invalid ClickHouse database name {database!r}: use letters, digits and _")
    path = chdb_path(url)
    try:
        if path is not None:
            if path != ":memory:":
                Path(path).mkdir(parents=True, exist_ok=True)
            client = clickhouse_connect.get_client(
                interface="chdb", path=path, chdb_options=CHDB_ENGINE_OPTIONS
            )
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise WarehouseError(
                    f"unsupported warehouse URL {redact(url)!r}: use chdb://DIR or http(s)://host:port"
                )
            client = clickhouse_connect.get_client(
                host=parts.hostname,
                port=parts.port or (8443 if parts.scheme == "https" else 8123),
                username=unquote(parts.username) if parts.username else "default",
                password=unquote(parts.password) if parts.password else "",
                secure=parts.scheme == "https",
            )
        if create:
            client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        client.database = database
        if path is not None:
            # A chDB client keeps USE state per handle; make it explicit for this handle.
            client.command(f"USE `{database}`")
    except WarehouseError:
        raise
    except Exception as exc:  # clickhouse-connect raises many types; one clear sentence is the contract
        raise WarehouseError(f"cannot open warehouse {redact(url)}: {exc}") from exc
    return client
