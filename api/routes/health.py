"""``/healthz`` (the warehouse answers) and ``/metrics`` (Prometheus text exposition)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streamscope.api.deps import WarehouseDep
from streamscope.api.errors import error_response
from streamscope.api.metrics import REGISTRY

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Liveness and warehouse check",
    responses={503: {"description": "The warehouse did not answer SELECT 1"}},
)
def healthz(warehouse: WarehouseDep) -> JSONResponse:
    """200 `{"status": "ok"}` when the warehouse answers `SELECT 1`; else 503 with the error shape."""
    try:
        ok = warehouse.rows("SELECT 1") == [(1,)]
    except Exception as exc:  # any failure of the warehouse means unhealthy, whatever its type
        log.warning("health check failed: %s", exc)
        ok = False
    if not ok:
        return error_response(503, "warehouse_unavailable", "the warehouse did not answer SELECT 1")
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def prometheus_metrics() -> Response:
    """Request counts and latency per route, ingest counters and process metrics (text format)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
