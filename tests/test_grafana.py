"""Grafana provisioning: the datasource file and every dashboard query, run on a real warehouse.

Each panel's SQL is expanded exactly the way Grafana and grafana-clickhouse-datasource (v4) expand it
before ClickHouse sees it:

1. the plugin's frontend ``$__conditionalAll(condition, $var)`` (``CHDatasource.applyConditionalAll``:
   the condition becomes ``1=1`` when the variable is "All");
2. Grafana's template variables (``${var:singlequote}`` = ``'a','b'``; a bare ``$var`` goes through the
   plugin's ``format``: an array becomes ``'a','b'``);
3. the plugin's backend macros (``pkg/macros/macros.go``, matched by sqlds): ``$__timeFilter(c)`` =
   ``c >= toDateTime(FROM_S) AND c <= toDateTime(TO_S)``, ``$__timeInterval(c)`` =
   ``toStartOfInterval(toDateTime(c), INTERVAL N second)``, ``$__interval_s``, ``$__fromTime``, ...

The warehouse is loaded with the real #xqcow recording plus the real twitch-irc-rs fixture lines (subs,
gifts, a raid, moderation), through the chat dataflow's own ``ParseEnrich`` step and the
``WarehouseWriter``; the recording is delivered twice, as a crashed source would, and a few of its
lines are cut short the way a dropped connection cuts them (dead letters). Every panel's rows are
compared with an oracle that reads the raw lines with nothing but ``str`` methods.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from clickhouse_connect.driver.client import Client

from streamscope.pipelines.chat import ParseEnrich
from streamscope.pipelines.transport import Received
from streamscope.records import RawLine
from streamscope.sinks.clickhouse import WarehouseWriter
from streamscope.sources.replay import read_lines
from tests.data import FIXTURES, XQCOW

GRAFANA = Path(__file__).resolve().parents[1] / "grafana"
DATASOURCE_FILES = sorted((GRAFANA / "provisioning" / "datasources").glob("*.yaml"))
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
PLUGIN = "grafana-clickhouse-datasource"
ALL = "$__all"
TWITCH_IRC_RS = FIXTURES / "robotty__twitch-irc-rs.log"


# --- expansion, as Grafana + the plugin do it ---------------------------------------------------


@dataclass(frozen=True)
class Query:
    """What Grafana sends with a panel query: the time range and the interval it picked."""

    from_ms: int
    to_ms: int
    interval_ms: int


def _macro_args(sql: str, open_paren: int) -> tuple[list[str], int]:
    """Arguments of a macro call whose '(' is at ``open_paren`` (split on top-level commas)."""
    depth, start, args = 0, open_paren + 1, []
    for i in range(open_paren, len(sql)):
        c = sql[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i])
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(sql[start:i])
            start = i + 1
    raise AssertionError(f"unbalanced macro call in {sql!r}")


def _conditional_all(sql: str, variables: dict[str, list[str] | str]) -> str:
    macro = "$__conditionalAll("
    at = sql.rfind(macro)
    while at != -1:
        args, end = _macro_args(sql, at + len(macro) - 1)
        assert len(args) == 2, f"$__conditionalAll takes (condition, $variable): {sql[at:end]}"
        m = re.search(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+", args[1].strip())
        phrase = args[0]
        if m and variables.get(m.group(0)) in ("", ALL):
            phrase = "1=1"
        sql = sql[:at] + phrase + sql[end:]
        at = sql.rfind(macro)
    return sql


def _template(sql: str, variables: dict[str, list[str] | str], options: dict[str, list[str]]) -> str:
    def values(name: str) -> list[str] | str:
        v = variables[name]
        return options[name] if v == ALL else v  # "All" without allValue = every option

    def sub(m: re.Match[str]) -> str:
        name, fmt = m.group("braced") or m.group("bare"), m.group("fmt")
        if name not in variables:
            return m.group(0)  # not a dashboard variable ($__ macros): left for the backend
        v = values(name)
        if fmt == "singlequote":
            items = v if isinstance(v, list) else [v]
            return ",".join("'" + x.replace("'", "\\'") + "'" for x in items)
        assert fmt is None, f"format {fmt!r} is not emulated here"
        return "'" + "','".join(v) + "'" if isinstance(v, list) else v  # the plugin's format()

    return re.sub(r"\$\{(?P<braced>\w+)(?::(?P<fmt>\w+))?\}|\$(?P<bare>\w+)", sub, sql)


def _backend_macros(sql: str, q: Query) -> str:
    frm, to = q.from_ms // 1000, q.to_ms // 1000
    interval_s = max(q.interval_ms // 1000, 1)

    def day(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")

    def one(args: list[str]) -> str:
        assert len(args) == 1, f"expected 1 argument, got {args}"
        return args[0].strip()

    macros: dict[str, Callable[[list[str]], str]] = {
        "fromTime": lambda a: f"toDateTime({frm})",
        "toTime": lambda a: f"toDateTime({to})",
        "fromTime_ms": lambda a: f"fromUnixTimestamp64Milli({q.from_ms})",
        "toTime_ms": lambda a: f"fromUnixTimestamp64Milli({q.to_ms})",
        "timeFilter": lambda a: f"{one(a)} >= toDateTime({frm}) AND {one(a)} <= toDateTime({to})",
        "timeFilter_ms": lambda a: (
            f"{one(a)} >= fromUnixTimestamp64Milli({q.from_ms}) AND "
            f"{one(a)} <= fromUnixTimestamp64Milli({q.to_ms})"
        ),
        "dateFilter": lambda a: (
            f"{one(a)} >= toDate('{day(q.from_ms)}') AND {one(a)} <= toDate('{day(q.to_ms)}')"
        ),
        "timeInterval": lambda a: f"toStartOfInterval(toDateTime({one(a)}), INTERVAL {interval_s} second)",
        "timeInterval_ms": lambda a: (
            f"toStartOfInterval(toDateTime64({one(a)}, 3), INTERVAL {max(q.interval_ms, 1)} millisecond)"
        ),
        "interval_s": lambda a: str(interval_s),
    }
    out, pos = [], 0
    for m in re.finditer(r"\$__(\w+)", sql):
        if m.start() < pos:
            continue
        name = m.group(1)
        assert name in macros, f"macro $__{name} is not one the plugin's backend expands"
        end = m.end()
        args: list[str] = []
        if end < len(sql) and sql[end] == "(":
            args, end = _macro_args(sql, end)
        out.append(sql[pos : m.start()] + macros[name](args))
        pos = end
    return "".join(out) + sql[pos:]


def expand(sql: str, q: Query, variables: dict[str, list[str] | str], options: dict[str, list[str]]) -> str:
    """``sql`` as ClickHouse receives it from the plugin."""
    sql = _conditional_all(sql, variables)
    sql = _template(sql, variables, options)
    sql = _backend_macros(sql, q)
    assert "$" not in sql, f"unexpanded variable left in {sql!r}"
    return sql


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
def test_every_panel_queries_the_provisioned_datasource_in_sql(path: Path) -> None:
    uids = {ds["uid"]: ds["type"] for ds in _datasources()}
    dash = _dashboard(path)
    assert dash["uid"] and dash["title"]
    panels = _panels(dash["panels"])
    assert panels
    for var in dash.get("templating", {}).get("list", []):
        if var["type"] == "query":
            assert uids.get(var["datasource"]["uid"]) == var["datasource"]["type"] == PLUGIN, var["name"]
    for p in panels:
        assert p.get("targets"), p["title"]
        for t in p["targets"]:
            ref = t.get("datasource") or p["datasource"]
            assert uids.get(ref["uid"]) == ref["type"] == PLUGIN, p["title"]
            assert t["editorType"] == "sql" and t["rawSql"].strip(), p["title"]
            # A time series panel needs the plugin to return a time series frame (format 0 in sqlutil).
            series = p["type"] == "timeseries"
            assert (t["queryType"], t["format"]) == (("timeseries", 0) if series else ("table", 1)), p[
                "title"
            ]


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
    """Dashboards added later are at least checked to expand and run on the real schema."""
    for path in DASHBOARD_FILES:
        dash = _dashboard(path)
        variables: dict[str, list[str] | str] = {}
        options: dict[str, list[str]] = {}
        for var in dash.get("templating", {}).get("list", []):
            if var["type"] == "query":
                options[var["name"]] = [str(r[0]) for r in loaded.client.query(var["query"]).result_rows]
                variables[var["name"]] = ALL
        for p in _panels(dash["panels"]):
            for t in p["targets"]:
                sql = expand(t["rawSql"], XQCOW_WINDOW, variables, options)
                result = loaded.client.query(sql)
                assert result.column_names, (path.name, p["title"])
                assert result.result_rows, (path.name, p["title"], "no rows on the #xqcow recording")
