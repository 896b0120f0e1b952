"""Building blocks of the dashboards: datasource references, targets, panels, variables, layout.

Plain dicts in the shape Grafana's dashboard JSON model (schemaVersion 39) and the
grafana-clickhouse-datasource plugin (v4) read. ClickHouse targets are raw SQL (``editorType: sql``);
a time series panel asks the plugin for a time series frame (``queryType: timeseries``, ``format: 0``),
every other panel for a table (``queryType: table``, ``format: 1``). Prometheus targets name their
datasource through the dashboard's ``prometheus`` datasource variable, so the dashboards work with
whichever Prometheus datasource a Grafana has.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
CLICKHOUSE_UID = "streamscope-clickhouse"
CLICKHOUSE: Json = {"type": CLICKHOUSE_TYPE, "uid": CLICKHOUSE_UID}
PROMETHEUS: Json = {"type": "prometheus", "uid": "${prometheus}"}


def sql(rawsql: str, *, series: bool, ref: str = "A") -> Json:
    """A raw-SQL ClickHouse target; ``series``: the plugin returns a time series frame."""
    return {
        "datasource": dict(CLICKHOUSE),
        "editorType": "sql",
        "queryType": "timeseries" if series else "table",
        "format": 0 if series else 1,
        "rawSql": rawsql.strip("\n"),
        "refId": ref,
    }


def promql(expr: str, legend: str, ref: str = "A") -> Json:
    """A Prometheus range query target."""
    return {
        "datasource": dict(PROMETHEUS),
        "expr": expr,
        "legendFormat": legend,
        "range": True,
        "refId": ref,
    }


def _panel(kind: str, title: str, description: str, size: tuple[int, int], targets: list[Json]) -> Json:
    ds = targets[0]["datasource"]
    return {
        "title": title,
        "description": description,
        "type": kind,
        "datasource": dict(ds),
        "gridPos": {"h": size[1], "w": size[0]},
        "targets": targets,
    }


def stat(title: str, description: str, size: tuple[int, int], target: Json, unit: str = "short") -> Json:
    """A single number (the last value of the first numeric column)."""
    p = _panel("stat", title, description, size, [target])
    p["options"] = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "none",
        "graphMode": "none",
        "textMode": "value",
    }
    p["fieldConfig"] = {"defaults": {"unit": unit}, "overrides": []}
    return p


def timeseries(
    title: str,
    description: str,
    size: tuple[int, int],
    targets: list[Json],
    *,
    unit: str = "short",
    bars: bool = False,
    stacked: bool = False,
    fill: int | None = None,
    min_interval: str | None = None,
    overrides: list[Json] | None = None,
) -> Json:
    """A time series panel: lines (or bars), optionally stacked.

    ``min_interval`` is the panel's lower bound for ``$__interval`` (Grafana's "Min interval"):
    panels over the 1-minute ``chat_stats`` series set ``1m`` so a bucket never splits a window.
    """
    p = _panel("timeseries", title, description, size, targets)
    if min_interval:
        p["interval"] = min_interval
    custom: Json = {"drawStyle": "bars" if bars else "line"}
    if not bars:
        custom["lineWidth"] = 1
    custom["fillOpacity"] = fill if fill is not None else (60 if bars else 10)
    if stacked:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    p["fieldConfig"] = {"defaults": {"unit": unit, "custom": custom}, "overrides": overrides or []}
    p["options"] = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return p


def table(title: str, description: str, size: tuple[int, int], target: Json) -> Json:
    """A table of the query's rows, in the query's order."""
    p = _panel("table", title, description, size, [target])
    p["options"] = {"showHeader": True, "cellHeight": "sm"}
    p["fieldConfig"] = {"defaults": {}, "overrides": []}
    return p


def bargauge(title: str, description: str, size: tuple[int, int], target: Json) -> Json:
    """Horizontal bars, one per row of a (name, value) table (e.g. top emotes)."""
    p = _panel("bargauge", title, description, size, [target])
    p["options"] = {
        "orientation": "horizontal",
        "displayMode": "basic",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
        "showUnfilled": True,
    }
    p["fieldConfig"] = {"defaults": {"unit": "short"}, "overrides": []}
    return p


def right_axis(field: str, unit: str) -> Json:
    """A field override that draws ``field`` on its own axis on the right (two units, one time axis)."""
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [
            {"id": "custom.axisPlacement", "value": "right"},
            {"id": "unit", "value": unit},
        ],
    }


def layout(panels: list[Json]) -> list[Json]:
    """Ids and grid positions: panels flow left to right in rows of 24 columns, in list order."""
    x = y = row_h = 0
    for i, p in enumerate(panels, start=1):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = i
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        row_h = max(row_h, h)
    # Grafana's own key order: id first (keeps the committed JSON readable).
    return [{"id": p["id"], **{k: v for k, v in p.items() if k != "id"}} for p in panels]


def channel_variable(*, multi: bool, by_id: bool = False) -> Json:
    """The ``channel`` variable: channel logins from the warehouse (``multi``: several, with All).

    ``by_id``: the value is the channel id and the login only the text shown (with two columns the
    plugin takes the first as the value, the second as the text).
    """
    query = (
        "SELECT channel_id, argMax(login, last_seen) AS login FROM channels "
        "GROUP BY channel_id ORDER BY login"
        if by_id
        else "SELECT DISTINCT login FROM channels ORDER BY login"
    )
    current: Json = (
        {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {}
    )  # single: Grafana selects the first login
    return {
        "name": "channel",
        "label": "Channel",
        "type": "query",
        "datasource": dict(CLICKHOUSE),
        "query": query,
        "definition": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": multi,
        "current": current,
        "sort": 1,
        "hide": 0,
        "options": [],
    }


def query_variable(name: str, label: str, query: str) -> Json:
    """A single-value variable from a ClickHouse query; re-read when the time range changes.

    With two columns the plugin takes the first as the value and the second as the text shown.
    """
    q = query.strip("\n")
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(CLICKHOUSE),
        "query": q,
        "definition": q,
        "refresh": 2,
        "multi": False,
        "includeAll": False,
        "current": {},
        "sort": 0,
        "hide": 0,
        "options": [],
    }


def prometheus_variable() -> Json:
    """The ``prometheus`` datasource variable: any Prometheus datasource of the Grafana."""
    return {
        "name": "prometheus",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "regex": "",
        "current": {},
        "refresh": 1,
        "hide": 0,
        "options": [],
    }


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    tags: list[str],
    variables: list[Json],
    panels: list[Json],
    annotations: list[Json] | None = None,
    time_from: str = "now-6h",
) -> Json:
    """A whole dashboard (``version`` 1: Grafana bumps it on each save; push compares without it)."""
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["streamscope", "twitch", *tags],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": annotations or []},
        "links": [],
        "panels": layout(panels),
    }


def sql_annotation(name: str, rawsql: str, color: str) -> Json:
    """An annotation query on ClickHouse: rows with ``time``, ``timeEnd`` (regions), ``text``, ``tags``."""
    return {
        "name": name,
        "datasource": dict(CLICKHOUSE),
        "enable": True,
        "iconColor": color,
        "target": sql(rawsql, series=False, ref="Anno"),
    }
