"""/healthz and /metrics."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from streamscope.api import create_app, metrics
from streamscope.settings import Settings


class _DeadClient:
    """Stands in for a client whose warehouse is gone: every query fails."""

    def query(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("warehouse unreachable")


def test_healthz_ok(api) -> None:
    r = api.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_healthz_503_when_the_warehouse_fails() -> None:
    with TestClient(create_app(Settings(), client=_DeadClient()), raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {
        "error": {"code": "warehouse_unavailable", "message": "the warehouse did not answer SELECT 1"}
    }


def test_metrics_exposition(api, warehouse, load, xqcow_lines) -> None:
    load(warehouse, xqcow_lines)
    route = "/v1.0/{broadcaster_id}/chat"
    labels = {"method": "GET", "route": route, "status": "200"}
    before = metrics.REGISTRY.get_sample_value("http_requests_total", labels) or 0.0
    bad_before = metrics.REGISTRY.get_sample_value("http_requests_total", {**labels, "status": "400"}) or 0.0
    params = {"start": "2019-09-15T00:00:00Z", "end": "2019-09-16T00:00:00Z"}
    for _ in range(3):
        assert api.get("/v1.0/71092938/chat", params=params).status_code == 200
    assert api.get("/v1.0/71092938/chat", params={**params, "limit": 0}).status_code == 400
    api.get("/random/path/123")
    metrics.INGESTED_LINES.labels(result="stored").inc(7)
    metrics.gauge_hook("test_queue_depth", "A gauge set by a callback.", lambda: 42.0)

    r = api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert metrics.REGISTRY.get_sample_value("http_requests_total", labels) == before + 3
    bad_after = metrics.REGISTRY.get_sample_value("http_requests_total", {**labels, "status": "400"})
    assert bad_after == bad_before + 1
    assert f'http_requests_total{{method="GET",route="{route}",status="200"}} {before + 3}' in text
    assert f'http_request_duration_seconds_count{{method="GET",route="{route}"}}' in text
    assert 'route="<unmatched>"' in text and "/random/path/123" not in text
    for result in ("stored", "rejected", "control"):
        assert f'ingested_lines_total{{result="{result}"}}' in text
    assert "test_queue_depth 42.0" in text


def test_made_up_methods_and_paths_share_fixed_labels(api) -> None:
    other = {"method": "other", "route": "/healthz", "status": "405"}
    before = metrics.REGISTRY.get_sample_value("http_requests_total", other) or 0.0
    for i in range(20):
        r = api.request(f"MADEUP{i}", "/healthz")
        assert (r.status_code, r.json()["error"]["code"]) == (405, "method_not_allowed")
        assert api.request(f"MADEUP{i}", f"/scanned/{i}").status_code == 404
    text = api.get("/metrics").text
    assert "MADEUP" not in text and "/scanned/" not in text
    assert metrics.REGISTRY.get_sample_value("http_requests_total", other) == before + 20
    labelled = set(re.findall(r'^http_requests_total\{method="([^"]*)"', text, re.MULTILINE))
    assert labelled <= metrics.METHODS | {"other"}
    assert 'http_requests_total{method="other",route="<unmatched>",status="404"}' in text
