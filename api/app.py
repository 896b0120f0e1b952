"""The FastAPI application factory.

``create_app(settings, client)`` builds a fresh app: the warehouse client is ``client`` when given
(tests pass their per-test database; the embedded ``streamscope up`` process passes the client its
dataflows already use, because chDB allows one engine per process), else one client opened from
``settings`` — once per app, never per request. The settings come from the caller (the app layer
builds them from the environment and flags); nothing here reads the environment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streamscope.api import errors, metrics, openapi
from streamscope.api.middleware import BodyLimit, CatchErrors
from streamscope.api.routes import ROUTERS
from streamscope.api.routes.export import ExportSlots
from streamscope.capture import JobManager
from streamscope.settings import Settings
from streamscope.warehouse import connect
from streamscope.warehouse.shared import Warehouse

DESCRIPTION = """\
History of captured Twitch chat, served from the ClickHouse warehouse.

* Times are ISO 8601 in parameters (`Z` or an offset; without one, UTC is assumed) and Unix epoch
  milliseconds in responses.
* Pages are keyset-paginated: pass the `cursor`/`after` of a response to get the next page; a null
  cursor means there is no next page. Deep pages cost the same as the first.
* Every error is a 4xx/5xx with `{"error": {"code": ..., "message": ...}}`.
"""


class _RequestMetrics:
    """ASGI middleware counting requests and their latency per route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        observed = False

        async def send_wrapper(message: Message) -> None:
            nonlocal observed
            if message["type"] == "http.response.start" and not observed:
                observed = True
                _observe(scope, message["status"], start)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # The 500 body is sent by CatchErrors, outside this one.
            if not observed:
                _observe(scope, 500, start)
            raise


def _observe(scope: Scope, status: int, start: float) -> None:
    # FastAPI puts the matched route into the scope; unmatched paths share one label, and made-up
    # methods another, so that scanners cannot blow up the label cardinality.
    route: Any = scope.get("route")
    template = getattr(route, "path", None) or metrics.UNMATCHED_ROUTE
    method = metrics.method_label(scope.get("method", ""))
    metrics.HTTP_REQUESTS.labels(method=method, route=template, status=str(status)).inc()
    metrics.HTTP_LATENCY.labels(method=method, route=template).observe(time.perf_counter() - start)


_INDEX = Path(__file__).with_name("static") / "index.html"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Shutdown: running capture jobs close their files and are marked failed, not left dangling.
    await asyncio.to_thread(app.state.captures.stop)


def create_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """A ready app over ``client`` (or a new client for ``settings``'s warehouse)."""
    if client is None:
        client = connect(settings.clickhouse_url, settings.clickhouse_database)
    app = FastAPI(
        title="streamscope",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.warehouse = Warehouse(client)
    # Capture jobs (POST /download): made here so jobs cut off by a restart are marked failed at once.
    app.state.captures = JobManager.from_settings(settings)
    app.state.exports = ExportSlots(settings.export_max_concurrent)
    errors.install(app)
    openapi.install(app)
    # add_middleware wraps what was added before: CatchErrors is outermost, so even a failure in the
    # metrics is a JSON 500 on a connection that stays open; the metrics see the 413s of BodyLimit.
    app.add_middleware(BodyLimit)
    app.add_middleware(_RequestMetrics)
    app.add_middleware(CatchErrors)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The web app (api/static: plain ES modules, no build step), over the public API only."""
        return FileResponse(_INDEX, media_type="text/html; charset=utf-8")

    # The web app's modules, stylesheet and vendored libraries (uPlot), served as files.
    app.mount("/static", StaticFiles(directory=_INDEX.parent), name="static")

    return app
