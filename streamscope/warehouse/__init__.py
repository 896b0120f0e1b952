"""The warehouse: ClickHouse reached through clickhouse-connect, embedded (chDB) or a server."""

from __future__ import annotations

from streamscope.warehouse.client import WarehouseError, connect
from streamscope.warehouse.migrate import migrate

__all__ = ["WarehouseError", "connect", "migrate"]
