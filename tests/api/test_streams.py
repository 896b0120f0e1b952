"""``/v1/channels/{channel}/viewers`` and ``/streams``: recorded #xqcow chat plus inserted sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.warehouse.rows import SAMPLE_COLUMNS, STREAM_COLUMNS
from tests.data import XQCOW

XQCOW_ID = 71092938
T0 = 1568505600000  # 2019-09-15T00:00:00Z, the recording's first second
S1 = ("111", T0 - 100_000, T0 + 200_000)  # ended: offline
S2 = ("222", T0 + 200_000, None)  # live
SAMPLES = [(T0 + k * 30_000, 1000 + k * 10) for k in range(10)]


@pytest.fixture
def loaded(warehouse: Client, load: Callable[..., Any], oracle: Any) -> list[dict[str, Any]]:
    load(warehouse, XQCOW)
    warehouse.insert(
        "viewer_samples",
        [(XQCOW_ID, "xqcow", t, v, "111" if t < S1[2] else "222", S1[1], "491931", "Escape", "t", "en",
          "helix") for t, v in SAMPLES],
        column_names=SAMPLE_COLUMNS,
    )  # fmt: skip
    segs1 = [(S1[1], "first title", "491931", "Escape"), (T0, "second title", "33214", "Tekken")]
    s1_samples = [v for t, v in SAMPLES if t < S1[2]]
    rows = [
        # An older version of S1 (still live) that FINAL must hide.
        (XQCOW_ID, "xqcow", "111", S1[1], None, "", None, 1, 1, 1, segs1[:1], 1),
        (XQCOW_ID, "xqcow", "111", S1[1], S1[2], "offline", S1[2], max(s1_samples), sum(s1_samples),
         len(s1_samples), segs1, 2),
        (XQCOW_ID, "xqcow", "222", S2[1], None, "", None, 0, 0, 0, [], 3),
    ]  # fmt: skip
    warehouse.insert("streams", rows, column_names=STREAM_COLUMNS)
    return oracle.privmsgs(oracle.read_lines(XQCOW))  # type: ignore[no-any-return]


def chat_in(messages: list[dict[str, Any]], start: int, end: int | None) -> tuple[int, int]:
    inside = {m["id"]: m["user_id"] for m in messages if m["ts"] >= start and (end is None or m["ts"] < end)}
    return len(inside), len(set(inside.values()))


def test_viewers_bucketed_by_step(api: TestClient, loaded: list[dict[str, Any]]) -> None:
    r = api.get("/v1/channels/xqcow/viewers?step=1m&start=2019-09-15T00:00:00Z&end=2019-09-15T01:00:00Z")
    assert r.status_code == 200, r.text
    body = r.json()
    buckets: dict[int, list[int]] = {}
    for t, v in SAMPLES:
        buckets.setdefault(t - t % 60_000, []).append(v)
    assert body["channel"] == {"id": XQCOW_ID, "login": "xqcow"}
    assert body["step"] == 60
    assert body["points"] == [
        {"at": b, "avg": sum(vs) / len(vs), "max": max(vs), "samples": len(vs)}
        for b, vs in sorted(buckets.items())
    ]
    # end is exclusive; by numeric id works too
    r = api.get(
        f"/v1/channels/{XQCOW_ID}/viewers?step=5m&start=2019-09-15T00:00:00Z&end=2019-09-15T00:04:00Z"
    )
    assert r.json()["points"] == [{"at": T0, "avg": 1035.0, "max": 1070, "samples": 8}]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("step=5", "step: must be between 10s and 31d"),
        ("step=abc", "step: 'abc' is not a duration such as 30s, 5m, 1h, 1d"),
        ("step=10s&start=2019-01-01T00:00:00Z&end=2019-09-15T00:00:00Z",
         "step: start..end would give more than 10000 buckets; use a larger step"),
        ("start=2019-09-15T01:00:00Z&end=2019-09-15T00:00:00Z", "end: must be after start"),
    ],
)  # fmt: skip
def test_viewers_bad_parameters(
    api: TestClient, loaded: list[dict[str, Any]], query: str, message: str
) -> None:
    r = api.get(f"/v1/channels/xqcow/viewers?{query}")
    assert r.status_code == 400
    assert r.json() == {"error": {"code": "invalid_parameter", "message": message}}


def test_streams_list_with_chat_activity_and_paging(api: TestClient, loaded: list[dict[str, Any]]) -> None:
    r = api.get("/v1/channels/xqcow/streams?limit=1")
    assert r.status_code == 200, r.text
    page1 = r.json()
    assert [s["id"] for s in page1["streams"]] == ["222"]  # newest first
    live = page1["streams"][0]
    assert (live["live"], live["ended_at"], live["peak_viewers"], live["avg_viewers"]) == (
        True,
        None,
        None,
        None,
    )
    assert (live["messages"], live["unique_chatters"]) == chat_in(loaded, S2[1], None)
    page2 = api.get(f"/v1/channels/xqcow/streams?limit=1&cursor={page1['cursor']}").json()
    assert page2["cursor"] is None
    s1_samples = [v for t, v in SAMPLES if t < S1[2]]
    messages, chatters = chat_in(loaded, S1[1], S1[2])
    assert messages > 100 and chatters > 50  # the recording has chat in both sessions
    assert page2["streams"] == [
        {
            "id": "111", "started_at": S1[1], "ended_at": S1[2], "end_reason": "offline", "live": False,
            "duration_s": 300.0, "peak_viewers": max(s1_samples),
            "avg_viewers": round(sum(s1_samples) / len(s1_samples), 3), "samples": len(s1_samples),
            "messages": messages, "unique_chatters": chatters,
            "segments": [
                {"at": S1[1], "title": "first title", "game_id": "491931", "game": "Escape"},
                {"at": T0, "title": "second title", "game_id": "33214", "game": "Tekken"},
            ],
        }
    ]  # fmt: skip
    detail = api.get("/v1/channels/xqcow/streams/111").json()
    # The single session also has chat_rate/top_emotes/peak_moment (tests/api/test_stats.py).
    assert {k: v for k, v in detail.items() if k not in ("chat_rate", "top_emotes", "peak_moment")} == page2[
        "streams"
    ][0]
    # start/end select by start time
    r = api.get("/v1/channels/xqcow/streams?start=2019-09-15T00:02:00Z")
    assert [s["id"] for s in r.json()["streams"]] == ["222"]


def test_stream_errors(api: TestClient, loaded: list[dict[str, Any]]) -> None:
    r = api.get("/v1/channels/xqcow/streams/999")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "unknown_stream", "message": "no stream '999' of channel 'xqcow'"}}
    r = api.get("/v1/channels/nobody_here/streams")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_channel"
    r = api.get("/v1/channels/xqcow/streams?cursor=bogus")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"
    r = api.get("/v1/channels/xqcow/streams?limit=0")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameter"
