"""``GET /v1/channels/{channel}/stats``: recorded chat (#xqcow and the client libraries' fixtures)
stored, stats rebuilt from the warehouse, every bucket of every step compared with the oracle over
the raw lines (tests/stats_oracle.py), plus bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.sinks.stats_rebuild import chat_span, rebuild
from tests import stats_oracle
from tests.burst import lines_of
from tests.data import FIXTURES, XQCOW

XQCOW_ID = 71092938
T0 = 1568505600000


@pytest.fixture
def lines(warehouse: Client, load: Callable[..., Any]) -> list[str]:
    extra = [
        line for f in sorted(FIXTURES.glob("*.log")) for line in lines_of(f) if stats_oracle.relevant(line)
    ]
    everything = lines_of(XQCOW) + extra
    load(warehouse, everything)
    # Rebuilt: #xqcow and the fixture channel with the most subs, raids and bits (the others are
    # many channels of a few lines, months apart, which only cost time here).
    for cid in (XQCOW_ID, busiest(everything)):
        login = warehouse.query(
            "SELECT any(channel) FROM chat_messages WHERE channel_id = {cid:UInt64}", parameters={"cid": cid}
        ).result_rows[0][0]
        span = chat_span(warehouse, cid)
        assert span is not None
        rebuild(warehouse, cid, login, *span)
    return everything


def busiest(lines: list[str]) -> int:
    """The fixture channel with the most kinds of subs, raids and bits (then the most of them)."""
    totals: dict[int, list[int]] = {}
    for (cid, _), w in stats_oracle.windows(lines, 60).items():
        if cid != XQCOW_ID:
            t = totals.setdefault(cid, [0, 0, 0])
            t[0], t[1], t[2] = t[0] + w["subs"], t[1] + w["raids"], t[2] + w["bits"]
    return max(totals, key=lambda c: (sum(map(bool, totals[c])), sum(totals[c])))


def expected_points(lines: list[str], step_s: int, channel_id: int = XQCOW_ID) -> list[dict[str, Any]]:
    out = []
    for (cid, at), w in sorted(stats_oracle.windows(lines, step_s).items()):
        if cid != channel_id:
            continue
        point = {
            k: w[k] for k in ("messages", "chatters", "first_time_chatters", "actions", "replies", "emotes")
        }
        point |= {
            k: w[k] for k in ("bits", "subs", "new_subs", "resubs", "gift_subs", "raids", "raid_viewers")
        }
        point |= {k: w[k] for k in ("timeouts", "bans", "deletions", "clears")}
        point["avg_message_length"] = (
            round(w["message_length_sum"] / w["messages"], 3) if w["messages"] else 0.0
        )
        point["top_emotes"] = [{"name": n, "count": c} for n, c in w["top_emotes"]]
        out.append({"at": at, **point})
    return out


@pytest.mark.parametrize(("step", "seconds"), [("1m", 60), ("5m", 300), ("1h", 3600), ("1d", 86400)])
def test_every_step_aggregates_the_minutes_exactly(
    api: TestClient, lines: list[str], step: str, seconds: int
) -> None:
    # #xqcow has the recording's day plus fixture lines months apart: fine steps need a range.
    fine = seconds < 3600
    day = "&start=2019-09-15T00:00:00Z&end=2019-09-16T00:00:00Z" if fine else ""
    r = api.get(f"/v1/channels/xqcow/stats?step={step}{day}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["channel"] == {"id": str(XQCOW_ID), "login": "xqcow"} and body["step"] == seconds
    expected = expected_points(lines, seconds)
    if fine:
        expected = [p for p in expected if T0 <= p["at"] < T0 + 86_400_000]
    else:
        assert len({p["at"] // 86_400_000 for p in expected}) > 5  # several days
    assert body["points"] == expected
    # The range's top emotes count every emote over the range, not the buckets' top 10s.
    counts: dict[str, int] = {}
    for (cid, at), w in stats_oracle.windows(lines, 60).items():
        if cid == XQCOW_ID and (not fine or T0 <= at < T0 + 86_400_000):
            for name, n in w["emote_counts"].items():
                counts[name] = counts.get(name, 0) + n
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert top and body["top_emotes"] == [{"name": n, "count": c} for n, c in top]
    # Distinct chatters of a coarse bucket are not the sum of its minutes'.
    if seconds >= 300:
        minutes = expected_points(lines, 60)
        assert body["points"][0]["chatters"] < sum(p["chatters"] for p in minutes[:5])


def test_channels_with_subs_gifts_raids_and_bits(api: TestClient, lines: list[str]) -> None:
    busy = busiest(lines)
    r = api.get(f"/v1/channels/{busy}/stats?step=1d")
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    assert points == expected_points(lines, 86400, busy)
    assert (
        sum(p["subs"] for p in points) and sum(p["raids"] for p in points) and sum(p["bits"] for p in points)
    )


def test_range_and_empty_buckets(api: TestClient, lines: list[str]) -> None:
    r = api.get("/v1/channels/xqcow/stats?step=1m&start=2019-09-15T00:02:00Z&end=2019-09-15T00:04:00Z")
    assert r.status_code == 200, r.text
    assert r.json()["points"] == [
        p for p in expected_points(lines, 60) if T0 + 120_000 <= p["at"] < T0 + 240_000
    ]
    # A day without chat: no buckets at all (empty buckets are omitted).
    r = api.get("/v1/channels/xqcow/stats?step=1h&start=2019-09-16T00:00:00Z&end=2019-09-17T00:00:00Z")
    assert r.status_code == 200 and r.json()["points"] == []


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("step=2m", 400, "invalid_parameter"),
        ("step=1m&start=2019-09-15T01:00:00Z&end=2019-09-15T00:00:00Z", 400, "invalid_parameter"),
        ("step=1m&start=2000-01-01T00:00:00Z&end=2019-01-01T00:00:00Z", 400, "invalid_parameter"),
        ("start=yesterday", 400, "invalid_parameter"),
    ],
)
def test_bad_input_is_a_4xx(api: TestClient, lines: list[str], query: str, status: int, code: str) -> None:
    r = api.get(f"/v1/channels/xqcow/stats?{query}")
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_a_range_too_long_for_the_step_is_a_400(api: TestClient, lines: list[str]) -> None:
    r = api.get("/v1/channels/xqcow/stats?step=1m")  # no range: first to last window, months apart
    assert r.status_code == 400 and "10000" in r.json()["error"]["message"]


def test_unknown_channel_is_a_404(api: TestClient, lines: list[str]) -> None:
    r = api.get("/v1/channels/nobody_here/stats")
    assert r.status_code == 404
    assert set(r.json()["error"]) == {"code", "message"}
