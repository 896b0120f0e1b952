"""``GET /v1/channels/{channel}/moments`` and the session detail's chat fields: two bursts injected
into the steady #xqcow recording (tests/burst.py), stats rebuilt from the warehouse, a stream session
around the first; expected values from the raw lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.sinks.stats_rebuild import rebuild
from streamscope.warehouse.rows import STREAM_COLUMNS
from tests import stats_oracle
from tests.burst import inject_burst, lines_of, ts_of
from tests.data import XQCOW
from tests.oracle import split_line

XQCOW_ID = 71092938
T0 = 1568505600000
BURSTS = (T0 + 303_000, T0 + 403_000)
SESSION = ("111", T0 - 60_000, T0 + 360_000)  # holds the first burst only


@pytest.fixture
def lines(warehouse: Client, load: Callable[..., Any]) -> list[str]:
    out = inject_burst(inject_burst(lines_of(XQCOW), BURSTS[0], tag="one"), BURSTS[1], tag="two")
    load(warehouse, out)
    sid, start, end = SESSION
    warehouse.insert(
        "streams",
        [(XQCOW_ID, "xqcow", sid, start, end, "offline", end, 0, 0, 0, [], 1)],
        column_names=STREAM_COLUMNS,
    )
    rebuild(warehouse, XQCOW_ID, "xqcow", T0, T0 + 3_600_000)
    return out


def first_ids(lines: list[str], start: int, n: int = 5) -> list[str]:
    """The first ``n`` message ids of the 10 s window at ``start`` in ClickHouse's (time, UUID) order."""
    ids = [
        (ts_of(line), split_line(line)[0]["id"])
        for line in lines
        if " PRIVMSG #" in line and start <= ts_of(line) < start + 10_000
    ]
    ids.sort(key=lambda t: (t[0], t[1].replace("-", "")[16:], t[1].replace("-", "")[:16]))
    return [i for _, i in ids[:n]]


def test_both_bursts_are_moments_oldest_first(api: TestClient, lines: list[str]) -> None:
    r = api.get("/v1/channels/xqcow/moments")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cursor"] is None
    moments = body["moments"]
    assert len(moments) == 2
    series = stats_oracle.windows(lines, 10)
    for m, burst in zip(moments, BURSTS, strict=True):
        assert abs(m["start"] - burst) <= 10_000
        assert m["id"] == f"{XQCOW_ID}-{m['start']}"
        assert m["peak_rate"] == series[(XQCOW_ID, m["peak"])]["messages"] * 6
        inside = [w for (_, at), w in series.items() if m["start"] <= at < m["end"]]
        assert m["chatters"] == len(set().union(*(w["chatter_ids"] for w in inside)))
        assert [s["id"] for s in m["samples"]] == first_ids(lines, m["peak"])
        assert all(s["room"]["login"] == "xqcow" for s in m["samples"])
        assert m["transcript"] == []
    assert moments[0]["stream_id"] == "111" and moments[1]["stream_id"] is None


def test_paging_by_cursor(api: TestClient, lines: list[str]) -> None:
    first = api.get("/v1/channels/xqcow/moments?limit=1").json()
    assert len(first["moments"]) == 1 and first["cursor"]
    second = api.get(f"/v1/channels/xqcow/moments?limit=1&cursor={first['cursor']}").json()
    assert len(second["moments"]) == 1 and second["cursor"] is None
    both = api.get("/v1/channels/xqcow/moments").json()["moments"]
    assert first["moments"] + second["moments"] == both
    later = api.get("/v1/channels/xqcow/moments?start=2019-09-15T00:06:00Z").json()["moments"]
    assert later == both[1:]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "cursor=nope", "start=x", "end=2019-01-01&start=2020-01-01"]
)
def test_bad_input_is_a_400(api: TestClient, lines: list[str], query: str) -> None:
    r = api.get(f"/v1/channels/xqcow/moments?{query}")
    assert r.status_code == 400, r.text
    assert set(r.json()["error"]) == {"code", "message"}


def test_session_detail_has_chat_rate_top_emotes_and_peak_moment(api: TestClient, lines: list[str]) -> None:
    r = api.get("/v1/channels/xqcow/streams/111")
    assert r.status_code == 200, r.text
    body = r.json()
    sid, start, end = SESSION
    minutes = {at: w for (_, at), w in stats_oracle.windows(lines, 60).items() if start <= at < end}
    assert body["chat_rate"] == round(
        sum(w["messages"] for w in minutes.values()) / ((end - start) / 60_000), 3
    )
    emotes: dict[str, int] = {}
    for w in minutes.values():
        for name, count in w["emote_counts"].items():
            emotes[name] = emotes.get(name, 0) + count
    top = sorted(emotes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert body["top_emotes"] == [{"name": n, "count": c} for n, c in top]
    moments = api.get("/v1/channels/xqcow/moments").json()["moments"]
    peak = body["peak_moment"]
    assert peak["id"] == moments[0]["id"] and peak["score"] == moments[0]["score"]
