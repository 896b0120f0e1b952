"""Grafana provisioning and the generated dashboards: files, datasources, and every chat query run on
a real warehouse.

Each panel's SQL is expanded exactly the way Grafana and grafana-clickhouse-datasource (v4) expand it
before ClickHouse sees it (:mod:`tests.fixtures.grafana_sql`: ``$__conditionalAll``, template
variables, the backend macros). The committed JSON in ``grafana/dashboards`` must be the generator's
output (``streamscope grafana export``), byte for byte. Prometheus panels must name metrics (and
labels) the streamscope processes really export, and compose's Prometheus must scrape every process
that serves them.

The warehouse is loaded with the real #xqcow recording plus the real twitch-irc-rs fixture lines (subs,
gifts, a raid, moderation), through the chat dataflow's own ``ParseEnrich`` step and the
``WarehouseWriter``; the recording is delivered twice, as a crashed source would, and a few of its
lines are cut short the way a dropped connection cuts them (dead letters). Every *Chat* panel's rows
are compared with an oracle that reads the raw lines with nothing but ``str`` methods. The stats
dashboards are checked against the stats reader in tests/app/test_grafana_panels.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from clickhouse_connect.driver.client import Client

from streamscope.app.grafana.dashboards import dashboards, filename, render
from streamscope.pipelines.chat import ParseEnrich
from streamscope.pipelines.transport import Received
from streamscope.records import RawLine
from streamscope.sinks.clickhouse import WarehouseWriter
from streamscope.sources.replay import read_lines
from tests.data import FIXTURES, XQCOW
from tests.fixtures.grafana_sql import ALL, GRAFANA, Query, expand

DATASOURCE_FILES = sorted((GRAFANA / "provisioning" / "datasources").glob("*.yaml"))
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
PLUGIN = "grafana-clickhouse-datasource"
TWITCH_IRC_RS = FIXTURES / "robotty__twitch-irc-rs.log"
ROOT = GRAFANA.parent


# --- the dashboards -----------------------------------------------------------------------------


def _panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in items:
        out.extend(_panels(p.get("panels", [])))  # collapsed rows nest their panels
        if p.get("type") != "row":
            out.append(p)
    return out


def _dashboard(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _datasources() -> list[dict[str, Any]]:
    return [ds for f in DATASOURCE_FILES for ds in yaml.safe_load(f.read_text())["datasources"]]


CHAT = GRAFANA / "dashboards" / "chat.json"
CHAT_PANELS = {p["title"]: p for p in _panels(_dashboard(CHAT)["panels"])}


def test_the_datasource_file_has_the_keys_the_plugin_reads() -> None:
    assert DATASOURCE_FILES, "no datasource provisioning file"
    for f in DATASOURCE_FILES:
        assert yaml.safe_load(f.read_text())["apiVersion"] == 1
    sources = [ds for ds in _datasources() if ds["type"] == PLUGIN]
    assert len(sources) == 1
    ds = sources[0]
    assert ds["uid"] and ds["name"]
    jd = ds["jsonData"]
    # pkg/plugin/settings.go: host and a non-zero port are required; protocol picks the port's meaning.
    assert isinstance(jd["host"], str) and jd["host"]
    assert jd["protocol"] in ("native", "http")
    plain = {"http": 8123, "native": 9000}, {"http": 8443, "native": 9440}
    assert jd["port"] == plain[bool(jd.get("secure"))][jd["protocol"]]
    assert jd["username"] and jd["defaultDatabase"]
    # Credentials are references to the container's environment, never values written in the repo.
    assert re.fullmatch(r"\$\{?\w+\}?", str(jd["username"]))
    assert re.fullmatch(r"\$\{?\w+\}?", str(ds["secureJsonData"]["password"]))
    assert "password" not in jd


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_panel_queries_a_provisioned_datasource(path: Path) -> None:
    """ClickHouse targets are raw SQL on the provisioned ClickHouse uid; Prometheus targets name the
    dashboard's ``prometheus`` datasource variable, which the provisioned Prometheus satisfies."""
    uids = {ds["uid"]: ds["type"] for ds in _datasources()}
    dash = _dashboard(path)
    assert dash["uid"] and dash["title"]
    panels = _panels(dash["panels"])
    assert panels
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    assert "channel" in variables, "every dashboard has a channel variable"
    for var in variables.values():
        if var["type"] == "query":
            assert uids.get(var["datasource"]["uid"]) == var["datasource"]["type"] == PLUGIN, var["name"]
    for p in panels:
        assert p.get("targets"), p["title"]
        for t in p["targets"]:
            ref = t.get("datasource") or p["datasource"]
            if ref["type"] == "prometheus":
                var = variables[ref["uid"].strip("${}")]
                assert var["type"] == "datasource" and var["query"] == "prometheus", p["title"]
                assert "prometheus" in uids.values(), "no Prometheus datasource is provisioned"
                assert t["expr"].strip(), p["title"]
                continue
            assert uids.get(ref["uid"]) == ref["type"] == PLUGIN, p["title"]
            assert t["editorType"] == "sql" and t["rawSql"].strip(), p["title"]
            # A time series panel needs the plugin to return a time series frame (format 0 in sqlutil).
            series = p["type"] == "timeseries"
            assert (t["queryType"], t["format"]) == (("timeseries", 0) if series else ("table", 1)), p[
                "title"
            ]
    for a in dash["annotations"]["list"]:
        assert uids.get(a["datasource"]["uid"]) == PLUGIN and a["target"]["rawSql"].strip(), a["name"]


def test_the_committed_dashboards_are_the_generators_output() -> None:
    """``streamscope grafana export grafana/dashboards`` must have been run after every change."""
    generated = {filename(d): render(d) for d in dashboards()}
    assert sorted(generated) == [p.name for p in DASHBOARD_FILES]
    for name, text in generated.items():
        assert (GRAFANA / "dashboards" / name).read_text(encoding="utf-8") == text, name
    assert len({d["uid"] for d in dashboards()}) == len(generated)


def _exported_metrics() -> dict[str, set[str]]:
    """Sample name -> label names, for every metric the streamscope processes export."""
    import prometheus_client.metrics as pm

    import streamscope.api.metrics as api_metrics
    import streamscope.metrics as core_metrics

    out: dict[str, set[str]] = {}
    for module in (core_metrics, api_metrics):
        for m in vars(module).values():
            if not isinstance(m, pm.MetricWrapperBase):
                continue
            labels = set(m._labelnames)
            if m._type == "counter":
                out[m._name + "_total"] = labels
            elif m._type == "histogram":
                out[m._name + "_bucket"] = labels | {"le"}
                out[m._name + "_sum"] = out[m._name + "_count"] = labels
            else:
                out[m._name] = labels
    return out


PROMQL_WORDS = {"sum", "rate", "histogram_quantile", "by", "without", "avg", "max", "min", "irate"}


def test_prometheus_panels_name_metrics_and_labels_the_processes_export() -> None:
    exported = _exported_metrics()
    assert {"ingested_lines_total", "kafka_consumer_lag", "http_request_duration_seconds_bucket"} <= set(
        exported
    )
    checked = 0
    for path in DASHBOARD_FILES:
        for p in _panels(_dashboard(path)["panels"]):
            for t in p["targets"]:
                if "expr" not in t:
                    continue
                expr = t["expr"]
                labels = set(re.findall(r"\b(\w+)\s*=~?", expr))  # {label="..."} matchers
                for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
                    labels |= {x.strip() for x in group.split(",")}
                labels |= set(re.findall(r"\{\{(\w+)\}\}", t["legendFormat"]))
                bare = re.sub(r"\{[^}]*\}|\[[^]]*\]|\bby\s*\([^)]*\)", " ", expr)
                names = {w for w in re.findall(r"[a-z_][a-z0-9_]*", bare) if w not in PROMQL_WORDS}
                assert names, (p["title"], expr)
                for name in names:
                    assert name in exported, f"{p['title']}: no process exports {name}"
                    assert labels <= exported[name], (
                        f"{p['title']}: {name} has no label {labels - exported[name]}"
                    )
                checked += 1
    assert checked >= 8


def test_compose_prometheus_scrapes_every_process_that_serves_metrics() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    (prom,) = [n for n, s in services.items() if str(s.get("image", "")).startswith("prom/prometheus:")]
    mounts = dict(reversed(str(v).split(":")[:2]) for v in services[prom]["volumes"])
    config = yaml.safe_load((ROOT / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    expected = set()
    for name, service in services.items():
        cmd = [str(x) for x in service.get("command") or []]
        if "--metrics-port" in cmd:
            expected.add(f"{name}:{cmd[cmd.index('--metrics-port') + 1]}")
        if cmd[:1] == ["serve"]:  # the API serves /metrics on its own port
            expected.add(f"{name}:{cmd[cmd.index('--port') + 1]}")
    assert expected and expected <= targets, f"not scraped: {expected - targets}"
    assert targets <= expected, f"scraped but not served: {targets - expected}"
    (ds,) = [d for d in _datasources() if d["type"] == "prometheus"]
    assert ds["url"] == f"http://{prom}:9090"
    assert "healthcheck" in services[prom]


# --- a real warehouse, and the oracle -----------------------------------------------------------


@dataclass(frozen=True)
class Line:
    command: str
    channel: str
    login: str
    tags: dict[str, str]
    params: list[str]


def parse(line: str) -> Line:
    tags: dict[str, str] = {}
    rest = line
    if rest.startswith("@"):
        head, rest = rest[1:].split(" ", 1)
        tags = dict(kv.partition("=")[::2] for kv in head.split(";"))
    login = ""
    if rest.startswith(":"):
        prefix, rest = rest[1:].split(" ", 1)
        login = prefix.split("!")[0]
    head, _, trailing = rest.partition(" :")
    words = head.split()
    params = words[1:] + ([trailing] if trailing else [])
    channel = params[0][1:] if params and params[0].startswith("#") else ""
    return Line(words[0], channel, login, tags, params)


def _poison(lines: list[RawLine]) -> list[RawLine]:
    """Every 700th PRIVMSG of the recording cut inside its tags, as a dropped connection cuts it."""
    picked = [r for r in lines if " PRIVMSG " in r.line][::700]
    return [RawLine(r.channel, r.line[: r.line.index(";id=")], r.received_at, "replay") for r in picked]


@dataclass
class Loaded:
    client: Client
    lines: list[Line]  # every stored line, once
    poison: list[RawLine]
    channels: list[str]


@pytest.fixture
def loaded(warehouse: Client) -> Loaded:
    raw = list(read_lines([XQCOW, TWITCH_IRC_RS]))
    poison = _poison(raw)
    step = ParseEnrich()  # the chat dataflow's own parse/enrich step
    writer = WarehouseWriter(warehouse, batch_rows=1_000_000, flush_interval_s=3600)
    for delivery in (raw, raw):  # delivered twice: every panel must count each line once
        writer.add(step(Received("replay", delivery))[1])
        writer.flush()
    writer.add(step(Received("replay", poison))[1])
    report = writer.flush()
    assert report.dead_letters == len(poison) > 0
    channels = sorted({r[0] for r in warehouse.query("SELECT DISTINCT login FROM channels").result_rows})
    return Loaded(warehouse, [parse(r.line) for r in raw], poison, channels)


def run(loaded: Loaded, title: str, q: Query, channel: list[str] | str = ALL) -> tuple[list[str], list[Any]]:
    panel = CHAT_PANELS[title]
    sql = expand(panel["targets"][0]["rawSql"], q, {"channel": channel}, {"channel": loaded.channels})
    # DESCRIBE gives names and types even when the range holds no rows.
    columns = [(r[0], r[1]) for r in loaded.client.query(f"DESCRIBE ({sql})").result_rows]
    if panel["type"] == "timeseries":
        # The plugin plots the first DateTime column; long frames (time, label, value) become series.
        assert columns[0][1].startswith("DateTime"), (title, columns)
    rows = [tuple(r) for r in loaded.client.query(sql).result_rows]
    if panel["type"] == "timeseries":
        # sqlds turns a long frame into series only when it is sorted ascending by time.
        assert [r[0] for r in rows] == sorted(r[0] for r in rows), title
    return [c for c, _ in columns], rows


def _ts(line: Line) -> int:
    return int(line.tags["tmi-sent-ts"])


def _in(line: Line, q: Query, channel: list[str] | str) -> bool:
    # $__timeFilter compares with whole seconds: [from_s, to_s] inclusive.
    ts = _ts(line)
    return q.from_ms // 1000 * 1000 <= ts <= q.to_ms // 1000 * 1000 and (
        channel == ALL or line.channel in channel
    )


def _messages(loaded: Loaded, q: Query, channel: list[str] | str) -> list[Line]:
    return [m for m in loaded.lines if m.command == "PRIVMSG" and _in(m, q, channel)]


def _bucket(ts_ms: int, q: Query) -> datetime:
    iv = max(q.interval_ms // 1000, 1)
    return datetime.fromtimestamp(ts_ms // 1000 // iv * iv, UTC).replace(tzinfo=None)


def _naive(rows: list[Any]) -> list[Any]:
    return [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in r) for r in rows]


XQCOW_WINDOW = Query(  # the recording's ~8 minutes, one-minute buckets
    from_ms=1568505600000, to_ms=1568506080000, interval_ms=60_000
)
EVERYTHING = Query(  # 2017..2026: the fixture lines too, one-day buckets
    from_ms=1483228800000, to_ms=1798761600000, interval_ms=86_400_000
)


@pytest.mark.parametrize("channel", [ALL, ["xqcow"], ["pajlada", "randers"]], ids=["all", "xqcow", "two"])
@pytest.mark.parametrize("q", [XQCOW_WINDOW, EVERYTHING], ids=["xqcow-window", "everything"])
def test_chat_panels_answer_what_the_recording_says(
    loaded: Loaded, q: Query, channel: list[str] | str
) -> None:
    msgs = _messages(loaded, q, channel)
    assert len(msgs) == len({m.tags["id"] for m in msgs})  # the recordings hold no duplicate ids

    assert run(loaded, "Messages", q, channel) == (["messages"], [(len(msgs),)])
    assert run(loaded, "Chatters", q, channel) == (["chatters"], [(len({m.tags["user-id"] for m in msgs}),)])

    cols, rows = run(loaded, "Messages per minute", q, channel)
    assert cols == ["time", "channel", "messages_per_min"]
    per: Counter[tuple[datetime, str]] = Counter((_bucket(_ts(m), q), m.channel) for m in msgs)
    scale = 60 / max(q.interval_ms // 1000, 1)
    assert _naive(rows) == [(t, c, n * scale) for (t, c), n in sorted(per.items())]

    cols, rows = run(loaded, "Top chatters", q, channel)
    assert cols == ["chatter", "display_name", "messages"]
    by_user: dict[str, list[Line]] = defaultdict(list)
    for m in msgs:
        by_user[m.tags["user-id"]].append(m)
    latest = {u: max(ms, key=_ts) for u, ms in by_user.items()}
    expected = sorted(
        ((latest[u].login, latest[u].tags.get("display-name", ""), len(ms)) for u, ms in by_user.items()),
        key=lambda r: (-r[2], r[0]),
    )[:25]
    assert rows == expected

    cols, rows = run(loaded, "Subs, gifted subs, raids, timeouts and bans", q, channel)
    assert cols == ["time", "event", "events"]
    names = {"sub": "subs", "resub": "subs", "subgift": "gifted subs", "anonsubgift": "gifted subs"}
    names["raid"] = "raids"
    events: Counter[tuple[datetime, str]] = Counter()
    for e in loaded.lines:
        if e.command == "USERNOTICE" and e.tags.get("msg-id") in names and _in(e, q, channel):
            events[_bucket(_ts(e), q), names[e.tags["msg-id"]]] += 1
        elif e.command == "CLEARCHAT" and len(e.params) > 1 and _in(e, q, channel):
            events[_bucket(_ts(e), q), "timeouts" if e.tags.get("ban-duration") else "bans"] += 1
    assert _naive(rows) == [(t, k, n) for (t, k), n in sorted(events.items())]
    if q is EVERYTHING and channel == ALL:
        assert {k for _, k in events} == {"subs", "gifted subs", "raids", "timeouts", "bans"}


@pytest.mark.parametrize("q", [XQCOW_WINDOW, EVERYTHING], ids=["xqcow-window", "everything"])
def test_dead_letter_panels_show_each_rejected_line_with_its_reason(loaded: Loaded, q: Query) -> None:
    poison = [p for p in loaded.poison if q.from_ms // 1000 * 1000 <= p.received_at <= q.to_ms // 1000 * 1000]
    assert poison
    assert run(loaded, "Dead letters", q) == (["dead_letters"], [(len(poison),)])

    cols, rows = run(loaded, "Dead letters by stage", q)
    assert cols == ["time", "stage", "dead_letters"]
    per = Counter(_bucket(p.received_at, q) for p in poison)
    assert _naive(rows) == [(t, "parse", n) for t, n in sorted(per.items())]

    cols, rows = run(loaded, "Latest dead letters", q)
    assert cols == ["received_at", "source", "channel", "stage", "reason", "raw_line"]
    newest_first = sorted(poison, key=lambda p: -p.received_at)
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        ("replay", p.channel, "parse", p.line[:500]) for p in newest_first
    ]
    assert all(r[4] for r in rows)  # every row says why


def test_the_channel_variable_lists_the_archived_channels(loaded: Loaded) -> None:
    var = next(v for v in _dashboard(CHAT)["templating"]["list"] if v["name"] == "channel")
    rows = loaded.client.query(var["query"]).result_rows
    logins = [r[0] for r in rows]
    assert logins == sorted(set(logins))
    assert {"xqcow", "pajlada", "randers"} <= set(logins)


def test_every_dashboard_query_expands_and_runs(loaded: Loaded) -> None:
    """Every SQL target and annotation of every dashboard expands and runs on the real schema (the
    *Chat* ones also return rows here; the stats dashboards' values are checked against the stats
    reader in tests/app/test_grafana_panels.py)."""
    for path in DASHBOARD_FILES:
        dash = _dashboard(path)
        variables: dict[str, list[str] | str] = {}
        options: dict[str, list[str]] = {}
        for var in dash.get("templating", {}).get("list", []):
            if var["type"] == "query":
                sql = expand(var["query"], XQCOW_WINDOW, variables, options)  # may use earlier variables
                options[var["name"]] = [str(r[0]) for r in loaded.client.query(sql).result_rows]
                first = options[var["name"]][0] if options[var["name"]] else ""
                variables[var["name"]] = ALL if var["includeAll"] else first
        targets = [(p["title"], t) for p in _panels(dash["panels"]) for t in p["targets"]]
        targets += [(a["name"], a["target"]) for a in dash["annotations"]["list"]]
        for title, t in targets:
            if "rawSql" not in t:
                continue  # PromQL: checked against the exported metrics above
            sql = expand(t["rawSql"], XQCOW_WINDOW, variables, options)
            assert loaded.client.query(f"DESCRIBE ({sql})").result_rows, (path.name, title)
            result = loaded.client.query(sql)
            if path == CHAT:
                assert result.result_rows, (path.name, title, "no rows on the #xqcow recording")
