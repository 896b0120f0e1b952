"""Every SQL panel of the stats dashboards (Channel overview, Stream session, Platform health), with
the plugin's macros expanded and the variables substituted as Grafana does (tests/fixtures/
grafana_sql.py), run on chDB and compared with what the readers say for the same range: the stats
reader (``query/stats.py`` ``stats_series``), the moments reader, and oracles over the input.

The warehouse holds the real #xqcow recording (with a 30-second burst at three times its rate made
of the preceding minute's lines re-sent with new ids, so the detector finds a hype moment) and the
client libraries' fixture lines (subs, gifts, raids, bits, moderation in other channels), parsed by
the chat dataflow's own step and stored by its writer, then turned into stats and moments by
``rebuild`` (the stats dataflow's window functions); each line is received 0-1 s after its
tmi-sent-ts, and three lines are cut short (dead letters). Viewer samples and one stream session
over the recording are written with the streams writer before the replay, so moments know their
session.

Ranges: a Grafana range ``[from, to]`` includes ``to`` (``$__timeFilter`` is ``<=``); the readers
take ``[start, end)``. With minute-aligned ends, ``to = end - 1 s`` selects the same windows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.app.grafana.dashboards import dashboards
from streamscope.pipelines.chat import ParseEnrich
from streamscope.pipelines.transport import Received
from streamscope.query.moments import moment_records
from streamscope.query.stats import StatsPoint, stats_series
from streamscope.records import RawLine
from streamscope.sinks.clickhouse import WarehouseWriter
from streamscope.sinks.stats_rebuild import rebuild
from streamscope.sinks.streams import StreamsBatch, StreamsWriter
from streamscope.warehouse import connect, migrate
from streamscope.warehouse.rows import StreamRow, ViewerSampleRow
from tests import stats_oracle
from tests.data import FIXTURES, XQCOW
from tests.fixtures.grafana_sql import ALL, Query, Variables, expand, panels
from tests.oracle import split_line

XQCOW_ID, DAY, MINUTE = 71092938, 86_400_000, 60_000
BURST = 1568505900000  # 5 minutes into the recording
STREAM = "39812345670"
START, END = 1568505647000, 1568506041000  # the session: whole seconds, not minute-aligned
DASH = {d["uid"]: d for d in dashboards()}


def ms(v: Any) -> Any:
    """Datetimes as epoch ms (clickhouse-connect returns UTC datetimes, aware or naive)."""
    if isinstance(v, datetime):
        return round((v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp() * 1000)
    return v


@dataclass
class World:
    client: Client
    lines: list[RawLine]  # every line published (burst and poison included)
    poison: list[RawLine]
    logins: dict[int, str]
    samples: list[ViewerSampleRow]
    session: StreamRow


def _with(line: str, ts: int, msg_id: str) -> str:
    head, rest = line[1:].split(" ", 1)
    tags = [f"tmi-sent-ts={ts}" if t.startswith("tmi-sent-ts=") else t for t in head.split(";")]
    return "@" + ";".join(f"id={msg_id}" if t.startswith("id=") else t for t in tags) + " " + rest


def _lines() -> tuple[list[RawLine], list[RawLine]]:
    texts = [ln for ln in XQCOW.read_text(encoding="utf-8").split("\n") if ln]
    texts += [ln for f in sorted(FIXTURES.glob("*.log")) for ln in f.read_text("utf-8").split("\n") if ln]
    texts = [ln for ln in texts if stats_oracle.relevant(ln) or "#xqcow" in ln]
    before = [ln for ln in texts if " PRIVMSG #xqcow " in ln and BURST - MINUTE <= _ts(ln) < BURST]
    for ln in before:  # a minute of chat squeezed into 30 s on top of the chat already there
        texts.append(
            _with(ln, BURST + (_ts(ln) - BURST + MINUTE) // 2, str(uuid.uuid5(uuid.NAMESPACE_OID, ln)))
        )
    out = []
    for i, ln in enumerate(texts):
        tags, _, _, params = split_line(ln)
        channel = params[0][1:] if params and params[0].startswith("#") else ""
        out.append(RawLine(channel, ln, int(tags.get("tmi-sent-ts") or BURST) + (i % 5) * 250, "replay"))
    privmsgs = [r for r in out if " PRIVMSG #xqcow " in r.line]
    poison = [
        RawLine(r.channel, r.line[: r.line.index(";id=")], r.received_at, "replay") for r in privmsgs[1::1500]
    ]
    return out + poison, poison


def _ts(line: str) -> int:
    return int(split_line(line)[0].get("tmi-sent-ts") or 0)


def _streams(client: Client) -> tuple[list[ViewerSampleRow], StreamRow]:
    samples = [
        ViewerSampleRow(XQCOW_ID, "xqcow", t, 41_000 + (t // MINUTE % 7) * 350, STREAM, START, "509658",
                        "Just Chatting", "first title", "en", "helix")
        for t in range(START + 13_000, END, MINUTE)
    ]  # fmt: skip
    segments = [
        (START, "first title", "509658", "Just Chatting"),
        (START + 200_000, "second title", "32982", "GTA V"),
    ]
    viewers = [s.viewers for s in samples]
    session = StreamRow(XQCOW_ID, "xqcow", STREAM, START, END, "offline", samples[-1].sampled_at,
                        max(viewers), sum(viewers), len(samples), segments, 9)  # fmt: skip
    writer = StreamsWriter(client)
    writer.add(StreamsBatch(samples, [session], {XQCOW_ID: "xqcow"}))
    writer.flush()
    return samples, session


@pytest.fixture(scope="module")
def world(warehouse_url: str) -> Iterator[World]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    client = connect(warehouse_url, name)
    migrate(client)
    samples, session = _streams(client)
    lines, poison = _lines()
    writer = WarehouseWriter(client, batch_rows=1_000_000, flush_interval_s=3600)
    writer.add(ParseEnrich()(Received("replay", lines))[1])  # the chat dataflow's own parse step
    writer.flush()
    # The stats as `streamscope stats rebuild` computes them (the dataflow's own window functions),
    # hour by hour where there is chat: the fixture lines are spread over years.
    hours = client.query(
        "SELECT channel_id, any(channel), groupUniqArray(toUnixTimestamp(toStartOfHour(t)) * 1000) FROM ("
        "SELECT channel_id, channel, sent_at AS t FROM chat_messages UNION ALL "
        "SELECT channel_id, channel, at FROM chat_events WHERE channel_id > 0) GROUP BY channel_id"
    ).result_rows
    for cid, login, starts in hours:
        for h in sorted(starts):
            rebuild(client, int(cid), str(login), int(h), int(h) + 3_600_000)
    logins = {
        int(r[0]): str(r[1])
        for r in client.query(
            "SELECT channel_id, argMax(login, last_seen) FROM channels GROUP BY channel_id"
        ).result_rows
    }
    yield World(client, lines, poison, logins, samples, session)
    client.command(f"DROP DATABASE IF EXISTS `{name}`")


def run(
    w: World, uid: str, title: str, q: Query, variables: Variables, ref: str = "A"
) -> list[tuple[Any, ...]]:
    """The rows one panel target returns, datetimes as epoch ms."""
    dash = DASH[uid]
    if title.startswith("annotation:"):
        target = next(a["target"] for a in dash["annotations"]["list"] if a["name"] == title[11:])
    else:
        panel = next(p for p in panels(dash["panels"]) if p["title"] == title)
        target = next(t for t in panel["targets"] if t["refId"] == ref)
    options = {"channel": sorted(w.logins.values())}
    sql = expand(target["rawSql"], q, variables, options)
    rows = [tuple(ms(v) for v in r) for r in w.client.query(sql).result_rows]
    if target["queryType"] == "timeseries":  # sqlds needs long frames sorted by time
        assert [r[0] for r in rows] == sorted(r[0] for r in rows), title
    return rows


def _range(lo: int, hi: int, step_s: int) -> tuple[int, int]:
    step = step_s * 1000
    return lo - lo % step, -(-hi // step) * step


def _days(w: World, cid: int) -> list[int]:
    rows = w.client.query(
        "SELECT DISTINCT toUnixTimestamp(toStartOfDay(at)) * 1000 FROM chat_stats FINAL "
        "WHERE channel_id = {c:UInt64} AND step_s = 60 ORDER BY 1", parameters={"c": cid}
    ).result_rows  # fmt: skip
    return [int(r[0]) for r in rows]


def _series_checks(w: World, cid: int, start: int, end: int, step_s: int) -> int:
    points = stats_series(w.client, cid, start, end, step_s)
    q, v = Query(start, end - 1000, step_s * 1000), {"channel": str(cid)}
    o = "streamscope-overview"
    assert run(w, o, "Viewers and chat rate", q, v, "B") == [(p.at, p.messages * 60 / step_s) for p in points]
    assert run(w, o, "Chatters over time", q, v) == [
        (p.at, p.chatters, p.first_time_chatters) for p in points
    ]
    assert run(w, o, "Subs, bits and raids", q, v) == [
        (p.at, p.new_subs, p.resubs, p.gift_subs, p.raids, p.bits) for p in points
    ]
    assert run(w, o, "Moderation", q, v) == [
        (p.at, p.timeouts, p.bans, p.deletions, p.clears) for p in points
    ]
    return len(points)


def _totals_checks(w: World, cid: int, day: int) -> StatsPoint:
    (p,) = stats_series(w.client, cid, day, day + DAY, 86400)  # the day as one bucket: distinct over it
    q, v = Query(day, day + DAY - 1000, MINUTE), {"channel": str(cid)}
    o = "streamscope-overview"
    assert run(w, o, "Messages", q, v) == [(p.messages,)]
    assert run(w, o, "Chatters", q, v) == [(p.chatters,)]
    assert run(w, o, "First-time chatters", q, v) == [(p.first_time_chatters,)]
    assert run(w, o, "Subs", q, v) == [(p.subs,)]
    assert run(w, o, "Bits", q, v) == [(p.bits,)]
    assert run(w, o, "Top emotes", q, v) == p.top_emotes
    # Independent of the stats code: messages and chatters straight from chat_messages.
    direct = w.client.query(
        "SELECT count(), uniqExact(user_id) FROM chat_messages FINAL WHERE channel_id = {c:UInt64} "
        "AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}) "
        "AND sent_at < fromUnixTimestamp64Milli({hi:Int64})",
        parameters={"c": cid, "lo": day, "hi": day + DAY},
    ).result_rows[0]
    assert (p.messages, p.chatters) == (direct[0], direct[1])
    return p


def test_overview_panels_equal_the_stats_reader_in_every_channel_and_step(world: World) -> None:
    w = world
    compared, kinds = 0, set()
    for cid in sorted(w.logins):
        days = _days(w, cid)
        if not days:
            continue
        for day in days:
            p = _totals_checks(w, cid, day)
            kinds |= {k for k in ("subs", "bits", "raids", "timeouts", "bans", "deletions") if getattr(p, k)}
            compared += _series_checks(w, cid, day, day + DAY, 60)
        if days[-1] - days[0] < 9000 * DAY:
            compared += _series_checks(w, cid, days[0], days[-1] + DAY, 86400)
    start, end = _range(1568505600000, 1568506100000, 3600)
    for step in (300, 3600):
        compared += _series_checks(w, XQCOW_ID, start, end, step)
    assert compared > 50 and kinds == {"subs", "bits", "raids", "timeouts", "bans", "deletions"}, (
        compared,
        kinds,
    )


def test_viewers_moments_and_sessions_on_the_overview(world: World) -> None:
    w = world
    q, v = Query(1568505600000, 1568506200000 - 1000, 120_000), {"channel": str(XQCOW_ID)}
    o = "streamscope-overview"
    buckets: dict[int, list[int]] = {}
    for s in w.samples:
        buckets.setdefault(s.sampled_at - s.sampled_at % 120_000, []).append(s.viewers)
    assert run(w, o, "Viewers and chat rate", q, v, "A") == [
        (t, sum(x) / len(x)) for t, x in sorted(buckets.items())
    ]
    assert run(w, o, "Peak viewers", q, v) == [(max(s.viewers for s in w.samples),)]
    assert run(w, o, "Peak viewers", q, {"channel": "11148817"}) == [(0,)]  # no samples: Grafana shows 0

    records = moment_records(w.client, XQCOW_ID, q.from_ms, q.to_ms + 1000, None, 100)
    assert any(abs(r.start - BURST) <= 10_000 for r in records), records  # the burst is a moment
    assert run(w, o, "Hype moments", q, v) == [
        (r.start, r.end, r.peak, r.peak_rate, r.baseline_rate, r.score, r.chatters,
         ", ".join(f"{e['name']} x{e['count']}" for e in r.top_emotes), r.stream_id)
        for r in records
    ]  # fmt: skip
    assert all(r.stream_id == STREAM for r in records)
    annotations = run(w, o, "annotation:Hype moments", q, v)
    assert [(a[0], a[1], a[3]) for a in annotations] == [(r.start, r.end, ["hype moment"]) for r in records]
    assert all(f"{round(r.peak_rate)} msg/min" in a[2] for a, r in zip(annotations, records, strict=True))

    s = w.session
    assert run(w, o, "Stream sessions", q, v) == [
        (STREAM, s.started_at, s.ended_at, (END - START) // 1000, s.peak_viewers, s.viewer_sum / s.samples,
         "first title", "GTA V", s.started_at, s.ended_at)
    ]  # fmt: skip


def test_session_panels_equal_the_readers_over_the_session(world: World) -> None:
    w, s = world, world.session
    uid, v = "streamscope-session", {"channel": str(XQCOW_ID), "session": STREAM}
    choices = DASH[uid]["templating"]["list"][1]["query"]
    rows = w.client.query(expand(choices, Query(0, 1, 1000), v, {})).result_rows
    assert rows == [(STREAM, "2019-09-15 00:00 UTC - first title")]
    lo = START - START % MINUTE  # the window holding the start
    minutes = stats_series(w.client, XQCOW_ID, lo, END, 60)
    (whole,) = stats_series(w.client, XQCOW_ID, lo, END, 86400)
    q = Query(START, END, MINUTE)
    assert run(w, uid, "Duration", q, v) == [((END - START) // 1000,)]
    assert run(w, uid, "Peak viewers", q, v) == [(s.peak_viewers,)]
    assert run(w, uid, "Average viewers", q, v) == [(s.viewer_sum / s.samples,)]
    assert run(w, uid, "Messages", q, v) == [(whole.messages,)]
    assert run(w, uid, "Chatters", q, v) == [(whole.chatters,)]
    assert run(w, uid, "Peak chat rate", q, v) == [(max(p.messages for p in minutes),)]
    assert run(w, uid, "Top emotes", q, v) == whole.top_emotes
    (totals,) = run(w, uid, "Session totals", q, v)
    assert totals[:-1] == (
        whole.new_subs, whole.resubs, whole.gift_subs, whole.bits, whole.raids, whole.raid_viewers,
        whole.timeouts, whole.bans, whole.deletions, whole.clears, whole.actions, whole.replies,
    )  # fmt: skip
    assert round(totals[-1], 3) == whole.avg_message_length
    in_range = [p for p in minutes if q.from_ms <= p.at <= q.to_ms]
    assert run(w, uid, "Viewers and chat rate", q, v, "B") == [(p.at, float(p.messages)) for p in in_range]
    assert run(w, uid, "Viewers and chat rate", q, v, "A") == [
        (x.sampled_at - x.sampled_at % MINUTE, float(x.viewers)) for x in w.samples
    ]
    records = [r for r in moment_records(w.client, XQCOW_ID, None, None, None, 100) if r.stream_id == STREAM]
    assert records and [r[:7] for r in run(w, uid, "Hype moments", q, v)] == [tuple(r[:7]) for r in records]
    assert run(w, uid, "Title and game changes", q, v) == [
        (t, title, game) for t, title, _, game in s.segments
    ]


def test_health_panels_answer_what_the_replay_did(world: World) -> None:
    w, uid = world, "streamscope-health"
    q, v = Query(1568505600000, 1568506200000 - 1000, MINUTE), {"channel": ALL}
    seen: dict[str, RawLine] = {}
    for r in w.lines[: len(w.lines) - len(w.poison)]:  # the poison lines are the last ones
        tags, _, command, _ = split_line(r.line)
        if command == "PRIVMSG" and "id" in tags and q.from_ms <= r.received_at <= q.to_ms:
            seen.setdefault(tags["id"], r)
    delays: dict[int, list[int]] = {}
    for r in seen.values():
        delays.setdefault(r.received_at - r.received_at % MINUTE, []).append(r.received_at - _ts(r.line))

    def pick(xs: list[int], level: float) -> float:
        return sorted(xs)[min(int(level * len(xs)), len(xs) - 1)] / 1000

    assert run(w, uid, "Capture delay", q, v) == [
        (t, pick(d, 0.5), pick(d, 0.95), max(d) / 1000) for t, d in sorted(delays.items())
    ]
    assert {x for d in delays.values() for x in d} == {0, 250, 500, 750, 1000}
    events = w.client.query(
        "SELECT toUnixTimestamp(toStartOfMinute(received_at)) * 1000 AS t, count() FROM chat_events FINAL "
        "WHERE received_at >= fromUnixTimestamp64Milli({lo:Int64}) "
        "AND received_at <= fromUnixTimestamp64Milli({hi:Int64}) "
        "GROUP BY t ORDER BY t", parameters={"lo": q.from_ms, "hi": q.to_ms}
    ).result_rows  # fmt: skip
    expected = [(t, "chat_messages", float(len(d))) for t, d in delays.items()]
    expected += [(int(t), "chat_events", float(n)) for t, n in events]
    assert run(w, uid, "Lines stored per minute", q, v) == sorted(expected)
    per = {}
    for p in w.poison:
        per[p.received_at - p.received_at % MINUTE] = per.get(p.received_at - p.received_at % MINUTE, 0) + 1
    assert run(w, uid, "Dead letters by stage", q, v) == [(t, "parse", n) for t, n in sorted(per.items())]
    newest = max(
        _ts(r.line)
        for r in w.lines
        if " PRIVMSG #xqcow " in r.line and ";id=" in r.line and q.from_ms <= _ts(r.line) <= q.to_ms
    )
    last = [p for p in stats_series(w.client, XQCOW_ID, q.from_ms, q.to_ms, 60) if p.messages][-1]
    assert run(w, uid, "Stats freshness", q, {"channel": ["xqcow"]}) == [
        ("xqcow", newest, last.at + MINUTE, 0)
    ]
