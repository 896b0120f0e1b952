"""/v1/channels, /v1/channels/{channel}/messages and /events over the xqcow recording."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

XQCOW_ID = 71092938


def fetch_all(api, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        r = api.get(path, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        out.extend(body[key])
        cursor = body["cursor"]
        if cursor is None:
            return out


def test_channels_list(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    stamps = [int(oracle.parse_line(line).tags["tmi-sent-ts"]) for line in xqcow_lines]
    assert api.get("/v1/channels").json() == {
        "channels": [
            {
                "id": XQCOW_ID,
                "login": "xqcow",
                "first_seen": min(stamps),
                "last_seen": max(stamps),
                "messages": 4933,
            }
        ]
    }


def test_channels_list_uses_newest_login_and_counts_once(api, warehouse, load, xqcow_lines) -> None:
    load(warehouse, xqcow_lines)
    load(warehouse, xqcow_lines)
    warehouse.command(
        "INSERT INTO channels VALUES (71092938, 'xqc_renamed', '2030-01-01 00:00:00', '2030-01-02 00:00:00')"
    )
    (only,) = api.get("/v1/channels").json()["channels"]
    assert (only["login"], only["messages"]) == ("xqc_renamed", 4933)
    assert api.get("/v1/channels/xqc_renamed/messages", params={"limit": 1}).status_code == 200
    # The old login now belongs to nobody.
    assert api.get("/v1/channels/xqcow/messages").status_code == 404


def test_messages_by_login_or_id_with_cursor(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    expected = [m["id"] for m in oracle.privmsgs(xqcow_lines)]
    by_login = fetch_all(api, "/v1/channels/xqcow/messages", "messages", limit=1000)
    assert [m["id"] for m in by_login] == expected
    first = api.get(f"/v1/channels/{XQCOW_ID}/messages").json()
    assert len(first["messages"]) == 100  # default limit
    assert [m["id"] for m in first["messages"]] == expected[:100]
    second = api.get(f"/v1/channels/{XQCOW_ID}/messages", params={"cursor": first["cursor"], "limit": 7})
    assert [m["id"] for m in second.json()["messages"]] == expected[100:107]
    upper = api.get("/v1/channels/XQCOW/messages", params={"limit": 1}).json()
    assert upper["messages"][0]["id"] == expected[0]


def test_messages_time_window(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    msgs = oracle.privmsgs(xqcow_lines)
    got = fetch_all(
        api,
        "/v1/channels/xqcow/messages",
        "messages",
        start="2019-09-15T00:02:00Z",
        end="2019-09-15T02:03:00+02:00",
        limit=1000,
    )
    lo, hi = 1568505720000, 1568505780000
    want = [m["id"] for m in msgs if lo <= m["ts"] < hi]
    assert len(want) > 100
    assert [m["id"] for m in got] == want
    only_start = fetch_all(api, "/v1/channels/xqcow/messages", "messages", start="2019-09-15T00:07:00Z")
    assert [m["id"] for m in only_start] == [m["id"] for m in msgs if m["ts"] >= 1568506020000]


def test_messages_user_filter(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    msgs = oracle.privmsgs(xqcow_lines)
    login, count = Counter(m["login"] for m in msgs).most_common(1)[0]
    assert count > 5
    user_id = next(m["user_id"] for m in msgs if m["login"] == login)
    want = [m["id"] for m in msgs if m["login"] == login]
    for value in (login, login.upper(), str(user_id)):
        got = fetch_all(api, "/v1/channels/xqcow/messages", "messages", user=value, limit=3)
        assert [m["id"] for m in got] == want
        assert {m["user"]["id"] for m in got} == {user_id}
    assert api.get("/v1/channels/xqcow/messages", params={"user": "nobody_here"}).json() == {
        "cursor": None,
        "messages": [],
    }


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+", text.lower()) if t]


def test_messages_full_text(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    msgs = oracle.privmsgs(xqcow_lines)
    # One token: whole word, case-insensitive ("gachiBASS" also as "GACHIBASS"; not "gachi").
    want = [m["id"] for m in msgs if "gachibass" in _tokens(m["text"])]
    assert len(want) > 3
    for q in ("gachiBASS", "GACHIBASS"):
        got = fetch_all(api, "/v1/channels/xqcow/messages", "messages", q=q, limit=1000)
        assert [m["id"] for m in got] == want
    partial = fetch_all(api, "/v1/channels/xqcow/messages", "messages", q="gachiBAS", limit=1000)
    assert [m["id"] for m in partial] == [m["id"] for m in msgs if "gachibas" in _tokens(m["text"])]
    # A phrase: every word present and the phrase itself, case-insensitively.
    phrase = [m["id"] for m in msgs if "devil may cry" in m["text"].lower()]
    assert phrase
    got = fetch_all(api, "/v1/channels/xqcow/messages", "messages", q="Devil May CRY", limit=1000)
    assert [m["id"] for m in got] == phrase
    # Punctuation (not a token) falls back to the substring match instead of erroring.
    bang = [m["id"] for m in msgs if "!#" in m["text"]]
    got = fetch_all(api, "/v1/channels/xqcow/messages", "messages", q="!#", limit=1000)
    assert [m["id"] for m in got] == bang and bang


def test_events_kind_and_user_filters(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    clears = oracle.clearchats(xqcow_lines)
    timeouts = [c for c in clears if c["kind"] == "timeout"]
    bans = [c for c in clears if c["kind"] == "ban"]
    got = fetch_all(api, "/v1/channels/xqcow/events", "events", kind="timeout", limit=10)
    assert [(e["at"], e["target"]["id"], e["duration_s"]) for e in got] == [
        (c["at"], c["target_id"], c["duration"]) for c in timeouts
    ]
    assert {e["kind"] for e in got} == {"timeout"}
    assert got[0]["target"]["login"] == timeouts[0]["target"]
    both = fetch_all(api, "/v1/channels/xqcow/events", "events", kind="timeout,ban", limit=1000)
    assert len(both) == len(timeouts) + len(bans) == 58
    subs = fetch_all(api, "/v1/channels/xqcow/events", "events", kind="resub,sub")
    assert Counter(e["kind"] for e in subs) == {"resub": 8, "sub": 1}
    resub = next(e for e in subs if e["kind"] == "resub")
    assert resub["user"]["login"] and resub["system_message"]
    assert "cumulative-months" in resub["msg_params"]
    everything = fetch_all(api, "/v1/channels/xqcow/events", "events", limit=1000)
    assert len(everything) == 67
    assert [e["at"] for e in everything] == sorted(e["at"] for e in everything)
    target = timeouts[0]
    for_user = fetch_all(api, "/v1/channels/xqcow/events", "events", user=target["target"])
    assert [e["at"] for e in for_user] == [c["at"] for c in clears if c["target_id"] == target["target_id"]]
    by_id = fetch_all(api, "/v1/channels/xqcow/events", "events", user=str(target["target_id"]))
    assert by_id == for_user


def test_room_state_events_are_found_by_their_stored_kind_in_any_case(
    api, warehouse, load, fixture_lines
) -> None:  # type: ignore[no-untyped-def]
    """ROOMSTATE lines are stored with kind ``roomstate``; the filter names it in either case."""
    load(warehouse, fixture_lines)
    sent = [line for line in fixture_lines if " ROOMSTATE #randers" in line]
    lower = fetch_all(api, "/v1/channels/randers/events", "events", kind="roomstate", limit=100)
    upper = fetch_all(api, "/v1/channels/randers/events", "events", kind="ROOMSTATE", limit=100)
    assert lower == upper and {e["kind"] for e in lower} == {"roomstate"}
    assert len(lower) == len(set(sent)) == 7
