"""The domain tools over the demo recording (plus a few rows the recording lacks: stream sessions,
viewer samples, a moment, transcript segments), each checked against values computed here from the
raw lines (tests/oracle.py) or from the rows inserted."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.agent.loop import TOOLS
from streamscope.agent.tools import ToolContext, ToolResult, call
from streamscope.warehouse.shared import Warehouse
from tests.data import XQCOW
from tests.oracle import split_line

CID = 71092938
T0 = 1568505600000  # 2019-09-15T00:00:00Z, the recording's first minute


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _privmsgs() -> list[tuple[int, str, str]]:
    """(tmi-sent-ts, user-id, login) of every PRIVMSG."""
    out = []
    for line in XQCOW.read_text(encoding="utf-8").split("\n"):
        if line:
            tags, nick, cmd, _ = split_line(line)
            if cmd == "PRIVMSG":
                out.append((int(tags["tmi-sent-ts"]), tags["user-id"], nick))
    return out


def _call(demo: Client, name: str, args: dict[str, Any]) -> ToolResult:
    _, result = call(TOOLS, ToolContext(Warehouse(demo), str(demo.database)), name, json.dumps(args))
    assert result.error is None, result.error
    return result


def _data(result: ToolResult) -> Any:
    return json.loads(result.content)["data"]


def test_recap(demo: Client) -> None:
    msgs = _privmsgs()
    recap = _data(_call(demo, "stream_recap", {}))
    per_minute = Counter((ts - T0) // 60000 for ts, _, _ in msgs)
    minute, n = sorted(per_minute.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    assert recap["channel"] == "xqcow"
    assert recap["messages"] == len(msgs) and recap["unique_chatters"] == len({u for _, u, _ in msgs})
    assert recap["busiest_minute"] == {"at": T0 + minute * 60000, "messages": n}
    top = Counter(login for _, _, login in msgs).most_common()
    assert [c["login"] for c in recap["top_chatters"][:2]] == [top[0][0], top[1][0]]
    assert recap["first_message_at"] == min(ts for ts, _, _ in msgs)


def test_chat_activity_per_minute(demo: Client) -> None:
    msgs = _privmsgs()
    result = _call(demo, "chat_activity", {"channel": "xqcow", "step": "1m"})
    by_minute = Counter(T0 + (ts - T0) // 60000 * 60000 for ts, _, _ in msgs)
    assert result.columns == ["at", "messages", "chatters", "timeouts_and_bans"]
    assert [(r[0], r[1]) for r in result.rows or []] == sorted(by_minute.items())
    chatters = {m: len({u for ts, u, _ in msgs if T0 + (ts - T0) // 60000 * 60000 == m}) for m in by_minute}
    assert [r[2] for r in result.rows or []] == [chatters[m] for m in sorted(chatters)]


def test_returning_chatters_across_sessions(demo: Client) -> None:
    cut = T0 + 4 * 60000
    demo.insert(
        "streams",
        [
            [CID, "xqcow", "s1", _dt(T0), _dt(cut), "offline", None, 0, 0, 0, [], 1],
            [CID, "xqcow", "s2", _dt(cut), _dt(T0 + 10 * 60000), "offline", None, 0, 0, 0, [], 1],
        ],
        column_names=[
            "channel_id", "channel", "stream_id", "started_at", "ended_at", "end_reason", "last_sample_at",
            "peak_viewers", "viewer_sum", "samples", "segments", "version",
        ],
    )  # fmt: skip
    msgs = _privmsgs()
    first = {u for ts, u, _ in msgs if ts < cut}
    second = {u for ts, u, _ in msgs if ts >= cut}
    found = _data(_call(demo, "returning_chatters", {}))
    assert found["sessions_are"] == "streams"
    assert [(s["session"], s["chatters"], s["returning"], s["new"]) for s in found["sessions"]] == [
        ("s1", len(first), 0, len(first)),
        ("s2", len(second), len(second & first), len(second - first)),
    ]


def test_viewers_games_and_best_slots(demo: Client) -> None:
    samples = [
        [CID, "xqcow", _dt(T0 + i * 60000), 1000 + 100 * i, "s1", _dt(T0), "g1" if i < 4 else "g2",
         "Just Chatting" if i < 4 else "Overwatch", "title", "en", "test"]
        for i in range(8)
    ]  # fmt: skip
    demo.insert(
        "viewer_samples",
        samples,
        column_names=[
            "channel_id", "channel", "sampled_at", "viewers", "stream_id", "started_at", "game_id", "game",
            "title", "language", "source",
        ],
    )  # fmt: skip
    viewers = _call(demo, "viewers_over_time", {"step": "2m"})
    assert [(r[0], r[1], r[2]) for r in viewers.rows or []] == [
        (T0 + k * 120000, 1000 + 100 * 2 * k + 50, 1000 + 100 * (2 * k + 1)) for k in range(4)
    ]
    msgs = _privmsgs()
    per_minute = Counter((ts - T0) // 60000 for ts, _, _ in msgs)
    games = {r[0]: r for r in _call(demo, "games_and_titles", {}).rows or []}
    assert games["Overwatch"][2:5] == [4, 1550.0, 1700]
    assert games["Overwatch"][5] == round(sum(per_minute[m] for m in range(4, 8)) / 4, 2)
    slots = _call(demo, "best_time_slots", {}).rows or []
    assert slots == [[0, round(len(msgs) / len(per_minute), 2), pytest.approx(slots[0][2]), 8, 1350.0]]


def test_chat_moments(demo: Client) -> None:
    demo.insert(
        "chat_moments",
        [[CID, "xqcow", _dt(T0 + 360000), _dt(T0 + 380000), _dt(T0 + 370000), 1014.0, 600.0, 2.5, 300,
          [("Clap", 120), ("LUL", 7)], [], "", _dt(T0)]],
        column_names=[
            "channel_id", "channel", "start", "end", "peak", "peak_rate", "baseline_rate", "score",
            "chatters",
            "top_emotes", "sample_message_ids", "stream_id", "computed_at",
        ],
    )  # fmt: skip
    moments = _call(demo, "chat_moments", {"channel": "71092938"}).rows or []
    assert moments == [
        [T0 + 360000, T0 + 380000, T0 + 370000, 1014.0, 600.0, 2.5, 300, "Clap x120, LUL x7", []]
    ]


def test_transcript_search(demo: Client) -> None:
    demo.insert(
        "transcript_segments",
        [
            [CID, "xqcow", _dt(T0 + 1000 * i), _dt(T0 + 1000 * i + 900), uuid.uuid4(), text, [], -0.2, 0.01,
             "en", "",
             "test", "tiny.en"]
            for i, text in enumerate(["welcome back chat", "that play was insane", "back to the game"])
        ],
        column_names=[
            "channel_id", "channel", "start", "end", "segment_id", "text", "words", "avg_logprob",
            "no_speech_prob", "language", "stream_id", "source", "model",
        ],
    )  # fmt: skip
    found = _call(demo, "transcript_search", {"q": "back"}).rows or []
    assert [r[2] for r in found] == ["welcome back chat", "back to the game"]
