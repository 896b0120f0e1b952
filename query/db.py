"""A reader's warehouse: the API's shared :class:`~streamscope.warehouse.shared.Warehouse` or a bare
clickhouse-connect client (the agent, the Grafana tests, the CLI), read the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope.warehouse.shared import Warehouse

DB = Warehouse | Client


def rows_of(db: DB, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """Rows of ``sql`` from a Warehouse (``rows``) or a bare clickhouse-connect client (``query``)."""
    if isinstance(db, Warehouse):
        return db.rows(sql, params)
    return db.query(sql, parameters=dict(params)).result_rows
