"""Prometheus metrics of the API process: HTTP request counts/latency, plus live gauges.

Everything lives in :data:`streamscope.metrics.REGISTRY` (not prometheus-client's global default
registry), which ``GET /metrics`` renders together with the source and dataflow metrics defined
there. The pipeline reports ingest outcomes with::

    from streamscope.metrics import INGESTED_LINES
    INGESTED_LINES.labels(result="stored").inc(n)     # result: stored | rejected | control

and can expose any other live figure (queue depth, lag) without touching this module::

    gauge_hook("ingest_queue_depth", "Raw lines waiting in the bus.", lambda: bus.qsize())

Route labels are route *templates* (``/v1/channels/{channel}/messages``), never raw paths, and method
labels one of :data:`METHODS` or ``other`` (:func:`method_label`), so the label cardinality stays
bounded whatever clients request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from streamscope.metrics import INGEST_RESULTS, INGESTED_LINES, REGISTRY

__all__ = [
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "INGESTED_LINES",
    "INGEST_RESULTS",
    "METHODS",
    "REGISTRY",
    "UNMATCHED_ROUTE",
    "gauge_hook",
    "method_label",
]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
"""The HTTP methods that are labels of their own; any other method a client makes up is ``other``."""
UNMATCHED_ROUTE = "<unmatched>"
"""The route label of requests no route matched (scanners' random paths share it)."""

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


def method_label(method: str) -> str:
    """``method`` as a label: itself when in :data:`METHODS`, else ``other``."""
    return method if method in METHODS else "other"


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
