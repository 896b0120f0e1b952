"""Prometheus metrics of the process: HTTP request counts/latency and the ingest counters.

Everything lives in :data:`REGISTRY` (not prometheus-client's global default registry), which
``GET /metrics`` renders. The pipeline reports ingest outcomes with::

    from api.metrics import INGESTED_LINES
    INGESTED_LINES.labels(result="stored").inc(n)     # result: stored | rejected | control

and can expose any other live figure (queue depth, lag) without touching this module::

    gauge_hook("ingest_queue_depth", "Raw lines waiting in the bus.", lambda: bus.qsize())

Route labels are route *templates* (``/v1/channels/{channel}/messages``), never raw paths, so the
label cardinality stays bounded whatever clients request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

INGEST_RESULTS = ("stored", "rejected", "control")

INGESTED_LINES = Counter(
    "ingested_lines",
    "Raw chat lines ingested, by outcome: stored (a row in chat_messages/chat_events), rejected "
    "(dead-lettered), control (connection-level lines such as PING that are not stored).",
    ["result"],
    registry=REGISTRY,
)
for _result in INGEST_RESULTS:
    # Pre-create the series so dashboards see 0 rather than "no data" before the first line.
    INGESTED_LINES.labels(result=_result)

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from request start to response start, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)

_hooks: dict[str, Gauge] = {}
_hooks_lock = threading.Lock()


def gauge_hook(name: str, documentation: str, read: Callable[[], float]) -> Gauge:
    """Expose ``read()`` as gauge ``name``, evaluated at every scrape.

    Calling again with the same name replaces the callback (a restarted pipeline re-registers);
    ``read`` must be cheap and thread-safe because scrapes run on the API's threads.
    """
    with _hooks_lock:
        gauge = _hooks.get(name)
        if gauge is None:
            gauge = Gauge(name, documentation, registry=REGISTRY)
            _hooks[name] = gauge
        gauge.set_function(read)
        return gauge
