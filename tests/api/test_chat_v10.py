"""/v1.0/{broadcaster_id}/chat over the real xqcow recording and the library fixtures."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

XQCOW_ID = 71092938
START = "2019-09-15T00:00:00Z"
END = "2019-09-16T00:00:00Z"


def page_all(api: TestClient, limit: int, start: str = START, end: str = END) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"start": start, "end": end, "limit": limit}
        if after:
            params["after"] = after
        r = api.get(f"/v1.0/{XQCOW_ID}/chat", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"cursor", "messages"}
        items.extend(body["messages"])
        after = body["cursor"]
        if after is None:
            assert len(body["messages"]) <= limit
            return items
        assert len(body["messages"]) == limit


def assert_matches_recording(items: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [i["message_id"] for i in items] == [e["id"] for e in expected]
    for item, exp in zip(items, expected, strict=True):
        assert set(item) == {"broadcaster_id", "message", "message_id", "timestamp"}
        assert item["broadcaster_id"] == XQCOW_ID
        assert item["timestamp"] == exp["ts"]
        m = json.loads(item["message"])
        assert m["id"] == exp["id"]
        assert m["text"] == exp["text"]
        assert m["is_me"] is exp["is_me"]
        assert m["bits"] == exp["bits"]
        assert m["sent_timestamp"] == exp["ts"]
        assert m["room"] == {"id": XQCOW_ID, "login": "xqcow"}
        assert m["user"]["id"] == exp["user_id"]
        assert m["user"]["login"] == exp["login"]
        assert m["user"]["display_name"] == exp["display_name"]
        assert m["user"]["color"] == exp["color"]
        assert m["user"]["badges"] == exp["badges"]
        assert m["emotes"] == exp["emotes"]
        assert m["user"]["is_mod"] is (exp["tags"]["mod"] == "1")
        assert m["user"]["is_subscriber"] is (exp["tags"]["subscriber"] == "1")
        assert m["reply_parent_msg_id"] is None


def test_pages_every_privmsg_exactly_once_in_order(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    expected = oracle.privmsgs(xqcow_lines)
    assert len(expected) == 4933
    items = page_all(api, limit=100)
    assert len(items) == 4933
    assert len({i["message_id"] for i in items}) == 4933
    assert_matches_recording(items, expected)
    # Spot-check the emote offsets against the raw line: "!#showemote xqcT" -> xqcT at 12-15.
    by_id = {i["message_id"]: json.loads(i["message"]) for i in items}
    assert by_id["d10eb06b-2c8f-4813-95c1-e7bed5b70afa"]["emotes"] == [
        {"id": "932291", "start": 12, "end": 15, "text": "xqcT"}
    ]


def test_duplicates_are_invisible(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    load(warehouse, xqcow_lines)  # a full re-replay: every row inserted twice, not merged yet
    stored = warehouse.query("SELECT count() FROM chat_messages").result_rows[0][0]
    assert stored == 2 * 4933
    assert_matches_recording(page_all(api, limit=100), oracle.privmsgs(xqcow_lines))


def test_default_limit_and_time_window(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    expected = oracle.privmsgs(xqcow_lines)
    r = api.get(f"/v1.0/{XQCOW_ID}/chat", params={"start": START, "end": END})
    body = r.json()
    assert len(body["messages"]) == 20
    assert [m["message_id"] for m in body["messages"]] == [e["id"] for e in expected[:20]]
    assert body["cursor"] is not None
    # start inclusive, end exclusive, offsets honoured: the window [ts of #100, ts of #200).
    lo, hi = expected[100]["ts"], expected[200]["ts"]
    from datetime import UTC, datetime, timedelta, timezone

    def iso(ms: int, tz: timezone) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).isoformat(timespec="milliseconds")

    plus2 = timezone(timedelta(hours=2))
    items = page_all(api, limit=100, start=iso(lo, plus2), end=iso(hi, UTC).replace("+00:00", "Z"))
    want = [e["id"] for e in expected if lo <= e["ts"] < hi]
    assert [i["message_id"] for i in items] == want
    assert 90 <= len(want) <= 110


def test_last_page_cursor_is_null(api, warehouse, load, xqcow_lines) -> None:
    load(warehouse, xqcow_lines)
    r = api.get(f"/v1.0/{XQCOW_ID}/chat", params={"start": START, "end": END, "limit": 100})
    cursor = r.json()["cursor"]
    pages = 1
    while cursor:
        body = api.get(
            f"/v1.0/{XQCOW_ID}/chat", params={"start": START, "end": END, "limit": 100, "after": cursor}
        ).json()
        cursor = body["cursor"]
        pages += 1
    assert pages == 50  # 4933 = 49 full pages + 33
    assert len(body["messages"]) == 33
    # An empty window (end is exclusive; the first message is at .501) is an empty last page.
    r = api.get(f"/v1.0/{XQCOW_ID}/chat", params={"start": START, "end": "2019-09-15T00:00:00.501Z"})
    assert r.json() == {"cursor": None, "messages": []}


def _fixture_message(api: TestClient, broadcaster_id: int, ts: int, message_id: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()

    r = api.get(
        f"/v1.0/{broadcaster_id}/chat", params={"start": iso(ts - 1), "end": iso(ts + 1), "limit": 100}
    )
    assert r.status_code == 200, r.text
    found = [json.loads(i["message"]) for i in r.json()["messages"] if i["message_id"] == message_id]
    assert len(found) == 1
    return found[0]


def test_reply_message_json(api, warehouse, load, fixture_lines) -> None:
    load(warehouse, fixture_lines)
    m = _fixture_message(api, 11148817, 1726691189926, "9d74021f-375a-44f1-80e4-0dd58e64396a")
    assert m["text"] == "@nerixyz b"
    assert m["is_me"] is False
    assert m["reply_parent_msg_id"] == "c6ff10fb-7eed-4326-b7ff-bf2b77b9b021"
    assert m["reply_parent_user_id"] == "129546453"
    assert m["reply_parent_user_login"] == "nerixyz"
    assert m["reply_parent_display_name"] == "nerixyz"
    assert m["reply_parent_msg_body"] == "a"
    assert m["reply_thread_parent_msg_id"] == "c6ff10fb-7eed-4326-b7ff-bf2b77b9b021"
    assert m["reply_thread_parent_user_login"] == "nerixyz"
    assert m["user"]["badges"] == [{"name": "subscriber", "version": "24"}]
    assert m["user"]["badge_info"] == [{"name": "subscriber", "version": "27"}]
    assert m["user"]["color"] == "#FF0000"
    assert m["room"]["id"] == 11148817


def test_escaped_reply_body_is_unescaped(api, warehouse, load, fixture_lines, oracle) -> None:
    load(warehouse, fixture_lines)
    escaped = [
        oracle.parse_line(line)
        for line in fixture_lines
        if "reply-parent-msg-body=" in line and "\\s" in line.split(" ", 1)[0] and " PRIVMSG #" in line
    ]
    assert escaped, "the fixtures hold replies whose parent body has escaped spaces"
    p = escaped[0]
    m = _fixture_message(api, int(p.tags["room-id"]), int(p.tags["tmi-sent-ts"]), p.tags["id"])
    assert m["reply_parent_msg_body"] == p.tags["reply-parent-msg-body"]
    assert " " in m["reply_parent_msg_body"] and "\\s" not in m["reply_parent_msg_body"]


def test_action_message_json(api, warehouse, load, fixture_lines) -> None:
    load(warehouse, fixture_lines)
    m = _fixture_message(api, 11148817, 1587291881363, "0c46c822-f668-4427-b19a-a1a0780a44ae")
    assert m["is_me"] is True
    assert m["text"] == "-tags Kappa 123 Keepo"
    assert m["emotes"] == [
        {"id": "25", "start": 6, "end": 10, "text": "Kappa"},
        {"id": "1902", "start": 16, "end": 20, "text": "Keepo"},
    ]
    assert m["user"]["is_broadcaster"] is True
    assert m["user"]["badges"][0] == {"name": "broadcaster", "version": "1"}


def test_bits_message_json(api, warehouse, load, fixture_lines) -> None:
    load(warehouse, fixture_lines)
    m = _fixture_message(api, 111448817, 1567746107991, "2403678c-6109-43ac-b3b5-1f5230f91729")
    assert m["bits"] == 1500
    assert m["text"] == "Cheer1000 Cheer100 Cheer100 Cheer100 Cheer100 Cheer100"
    assert m["user"]["login"] == "laurenjw28"
    assert m["user"]["display_name"] == "LaurenJW28"
    assert m["user"]["is_mod"] is True
    assert m["user"]["badges"] == [
        {"name": "moderator", "version": "1"},
        {"name": "subscriber", "version": "0"},
        {"name": "bits", "version": "1000"},
    ]
