"""Request dependencies, as ``Annotated`` aliases for route signatures.

The warehouse handle lives on ``app.state.warehouse`` (made once per process by
:func:`streamscope.api.app.create_app`): a :class:`~streamscope.warehouse.shared.Warehouse`, which
runs reads concurrently on a small pool of chDB clients (one at a time on a ClickHouse server's
client; see there why). Routes are plain ``def`` functions: FastAPI runs them on its thread pool, so
a slow query blocks a worker thread, never the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from streamscope.warehouse.shared import Warehouse

__all__ = ["WarehouseDep", "get_warehouse"]


def get_warehouse(request: Request) -> Warehouse:
    warehouse: Warehouse = request.app.state.warehouse
    return warehouse


WarehouseDep = Annotated[Warehouse, Depends(get_warehouse)]
