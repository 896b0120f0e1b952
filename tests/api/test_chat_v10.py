"""/v1.0/{broadcaster_id}/chat over the real xqcow recording and the library fixtures.

Every message object is checked key by key, type by type, against :func:`seed_message`, the seed
"Twitch Chat Ingestor" shape computed from the raw line with nothing but :mod:`tests.oracle`'s string
splitting, and :func:`room_in_force`, the fold of the channel's ROOMSTATE lines up to the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.records import RawLine
from tests.oracle import split_line

XQCOW_ID = 71092938
START = "2019-09-15T00:00:00Z"
END = "2019-09-16T00:00:00Z"

# The seed's keys, in the seed's order; our additions come after them.
SEED_KEYS = [
    "text", "is_me", "bits", "sent_timestamp",
    "reply_parent_msg_id", "reply_parent_user_id", "reply_parent_user_login",
    "reply_parent_display_name", "reply_parent_msg_body", "reply_thread_parent_msg_id",
    "reply_thread_parent_user_login", "emotes", "id", "room", "user",
]  # fmt: skip
EXTRA_KEYS = [
    "source_room_id", "source_message_id", "flags", "deleted", "timed_out", "banned", "cleared", "moderation",
]  # fmt: skip
ROOM_KEYS = [
    "name", "is_emote_only", "is_subs_only", "is_followers_only", "is_unique_only",
    "follower_only_delay", "room_id", "slow",
]  # fmt: skip
USER_KEYS = [
    "name", "badge_info", "badges", "color", "display_name", "mod", "subscriber", "turbo", "id",
    "user_type", "vip",
]  # fmt: skip
MODE_TAGS = ("emote-only", "followers-only", "r9k", "slow", "subs-only")


# --- the oracle -------------------------------------------------------------------------------


def room_in_force(
    channel: str, room_id: str, roomstates: Sequence[tuple[int, str]], ts: int
) -> dict[str, Any]:
    """The seed ``room`` at ``ts``: the ROOMSTATE ``(received ms, raw line)``s up to ``ts`` folded
    in order, each tag it carries replacing the one before; modes never mentioned are off."""
    modes: dict[str, str] = {}
    for at, line in sorted(roomstates, key=lambda r: r[0]):
        if at <= ts:
            tags = split_line(line)[0]
            modes.update({k: tags[k] for k in MODE_TAGS if tags.get(k)})
    followers = int(modes.get("followers-only", "-1"))
    return {
        "name": channel,
        "is_emote_only": modes.get("emote-only") == "1",
        "is_subs_only": modes.get("subs-only") == "1",
        "is_followers_only": followers != -1,
        "is_unique_only": modes.get("r9k") == "1",
        "follower_only_delay": max(followers, 0),
        "room_id": room_id,
        "slow": int(modes.get("slow", "0")),
    }


def _pairs(value: str) -> dict[str, str]:
    """``subscriber/12,premium/1`` -> ``{"subscriber": "12", "premium": "1"}``."""
    return dict(item.partition("/")[::2] for item in value.split(",") if item)


def seed_emotes(value: str) -> dict[str, list[dict[str, str]]] | None:
    """The emotes tag as the seed's map; an id may itself hold ``/`` (``80481_/3:7-14``)."""
    out: dict[str, list[dict[str, str]]] = {}
    for match in re.finditer(r"(.+?):(\d+-\d+(?:,\d+-\d+)*)(?:/|$)", value):
        for rng in match.group(2).split(","):
            start, end = rng.split("-")
            out.setdefault(match.group(1), []).append({"start_position": start, "end_position": end})
    return out or None


def seed_message(line: str, room: dict[str, Any]) -> dict[str, Any]:
    """The seed's keys of a PRIVMSG line's message object, in the seed's order."""
    tags, nick, command, params = split_line(line)
    assert command == "PRIVMSG"
    text = params[1]
    is_me = text.startswith("\x01ACTION ") and text.endswith("\x01")
    badges = _pairs(tags.get("badges", ""))
    return {
        "text": text[len("\x01ACTION ") : -1] if is_me else text,
        "is_me": is_me,
        "bits": int(tags.get("bits", "0")),
        "sent_timestamp": int(tags["tmi-sent-ts"]),
        **{
            key.replace("-", "_"): tags.get(key)
            for key in (
                "reply-parent-msg-id",
                "reply-parent-user-id",
                "reply-parent-user-login",
                "reply-parent-display-name",
                "reply-parent-msg-body",
                "reply-thread-parent-msg-id",
                "reply-thread-parent-user-login",
            )  # fmt: skip
        },
        "emotes": seed_emotes(tags.get("emotes", "")),
        "id": tags["id"],
        "room": room,
        "user": {
            "name": nick,
            "badge_info": _pairs(tags.get("badge-info", "")) or None,
            "badges": badges,
            "color": tags.get("color") or None,
            "display_name": tags.get("display-name") or None,
            "mod": tags.get("mod") == "1",
            "subscriber": tags.get("subscriber") == "1",
            "turbo": tags.get("turbo") == "1",
            "id": tags["user-id"],
            "user_type": tags.get("user-type") or None,
            "vip": "vip" in tags or "vip" in badges,
        },
    }


def assert_same(got: Any, want: Any, where: str = "message") -> None:
    """Equal values of the same JSON types, keys in the same order (``0 == False`` does not pass)."""
    assert type(got) is type(want), (where, got, want)
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    else:
        assert got == want, (where, got, want)


def assert_seed_shape(item: dict[str, Any], line: str, room: dict[str, Any]) -> dict[str, Any]:
    """``item`` (one entry of ``messages``) is the seed envelope around ``line``'s seed message."""
    tags = split_line(line)[0]
    assert list(item) == ["broadcaster_id", "message", "message_id", "timestamp"]
    assert_same(item["broadcaster_id"], int(tags["room-id"]))
    assert_same(item["message_id"], tags["id"])
    assert_same(item["timestamp"], int(tags["tmi-sent-ts"]))
    assert isinstance(item["message"], str)
    m = json.loads(item["message"])
    assert list(m) == SEED_KEYS + EXTRA_KEYS
    assert_same({k: m[k] for k in SEED_KEYS}, seed_message(line, room))
    assert list(m["room"]) == ROOM_KEYS and list(m["user"]) == USER_KEYS
    return m


# --- helpers ----------------------------------------------------------------------------------


def page_all(
    api: TestClient, limit: int, start: str = START, end: str = END, broadcaster_id: int = XQCOW_ID
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"start": start, "end": end, "limit": limit}
        if after:
            params["after"] = after
        r = api.get(f"/v1.0/{broadcaster_id}/chat", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert list(body) == ["cursor", "messages"]
        items.extend(body["messages"])
        after = body["cursor"]
        if after is None:
            assert len(body["messages"]) <= limit
            return items
        assert len(body["messages"]) == limit


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def privmsg_lines(lines: Sequence[str]) -> dict[str, str]:
    """PRIVMSG lines by message id."""
    return {split_line(line)[0]["id"]: line for line in lines if split_line(line)[2] == "PRIVMSG"}


def insert_roomstates(client: Client, roomstates: Sequence[tuple[int, str]]) -> None:
    """Store ROOMSTATE lines as the ingest does (into chat_events), each received at its given time
    (ms)."""
    from streamscope.twitch.irc.rows import EVENT_COLUMNS, classify

    raw = [RawLine(split_line(line)[3][0][1:], line, at, "test") for at, line in roomstates]
    batch = classify(raw, {"xqcow": XQCOW_ID})
    assert [e.kind for e in batch.events] == ["roomstate"] * len(roomstates)
    client.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))


def xqcow_room(roomstates: Sequence[tuple[int, str]], ts: int) -> dict[str, Any]:
    return room_in_force("xqcow", str(XQCOW_ID), roomstates, ts)


def assert_matches_recording(
    items: list[dict[str, Any]], expected: list[dict[str, Any]], roomstates: Sequence[tuple[int, str]] = ()
) -> None:
    """``items`` are the recording's PRIVMSGs (:func:`_recording`) in order, each in the seed shape
    with the room that ``roomstates`` put in force."""
    assert [i["message_id"] for i in items] == [e["id"] for e in expected]
    for item, e in zip(items, expected, strict=True):
        assert_seed_shape(item, e["line"], xqcow_room(roomstates, item["timestamp"]))


# --- the recording: paging and every key of every message ----------------------------------------


def _recording(oracle: Any, lines: list[str]) -> list[dict[str, Any]]:
    """``oracle.privmsgs(lines)``, each with its raw ``line``."""
    by_id = privmsg_lines(lines)
    expected = oracle.privmsgs(lines)
    for e in expected:
        e["line"] = by_id[e["id"]]
    return expected


def test_pages_every_privmsg_exactly_once_in_order(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    expected = _recording(oracle, xqcow_lines)
    assert len(expected) == 4933
    items = page_all(api, limit=100)
    assert len(items) == 4933
    assert len({i["message_id"] for i in items}) == 4933
    assert_matches_recording(items, expected)
    # The recording covers the optional parts of the shape (the oracle checked their values).
    messages = [json.loads(i["message"]) for i in items]
    assert sum(m["emotes"] is not None for m in messages) > 100
    assert sum(m["user"]["badge_info"] is not None for m in messages) > 1000
    assert sum(m["user"]["badge_info"] is None for m in messages) > 100
    assert sum(m["user"]["mod"] for m in messages) > 0
    # Spot-check against the raw line by hand: "!#showemote xqcT" -> xqcT at 12-15 (inclusive).
    by_id = {m["id"]: m for m in messages}
    assert by_id["d10eb06b-2c8f-4813-95c1-e7bed5b70afa"]["emotes"] == {
        "932291": [{"start_position": "12", "end_position": "15"}]
    }
    first = by_id["ca561310-6855-43b3-8325-3ea7418359a2"]
    assert first["user"]["name"] == "onche" and first["user"]["id"] == "48215771"
    assert first["user"]["badge_info"] == {"subscriber": "5"} and first["user"]["badges"] == {
        "subscriber": "3"
    }
    assert first["room"] == {
        "name": "xqcow", "is_emote_only": False, "is_subs_only": False, "is_followers_only": False,
        "is_unique_only": False, "follower_only_delay": 0, "room_id": "71092938", "slow": 0,
    }  # fmt: skip


def test_duplicates_are_invisible(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    load(warehouse, xqcow_lines)  # a full re-replay: every row inserted twice, not merged yet
    stored = warehouse.query("SELECT count() FROM chat_messages").result_rows[0][0]
    assert stored == 2 * 4933
    assert_matches_recording(page_all(api, limit=100), _recording(oracle, xqcow_lines))


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
    from datetime import timedelta, timezone

    def iso_in(ms: int, tz: timezone) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).isoformat(timespec="milliseconds")

    plus2 = timezone(timedelta(hours=2))
    items = page_all(api, limit=100, start=iso_in(lo, plus2), end=iso_in(hi, UTC).replace("+00:00", "Z"))
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


# --- the fixtures: replies, vip, user types, actions, bits, odd emote ids -----------------------------


def _repeats_a_tag(line: str) -> bool:
    keys = [item.partition("=")[0] for item in line[1:].split(" ", 1)[0].split(";")]
    return len(keys) != len(set(keys))


def _fixture_message(api: TestClient, broadcaster_id: int, ts: int, message_id: str) -> dict[str, Any]:
    r = api.get(
        f"/v1.0/{broadcaster_id}/chat", params={"start": iso(ts - 1), "end": iso(ts + 1), "limit": 100}
    )
    assert r.status_code == 200, r.text
    found = [json.loads(i["message"]) for i in r.json()["messages"] if i["message_id"] == message_id]
    assert len(found) == 1
    return found[0]


def test_every_fixture_message_in_the_seed_shape(api, warehouse, load, fixture_lines) -> None:
    # ROOMSTATE lines have no time of their own here (see test_room_is_the_roomstate_in_force).
    load(warehouse, [line for line in fixture_lines if " ROOMSTATE #" not in line])
    lines = privmsg_lines(fixture_lines)
    channels: dict[int, str] = {}
    for line in lines.values():
        tags, _, _, params = split_line(line)
        channels[int(tags["room-id"])] = params[0][1:]
    served: list[dict[str, Any]] = []
    repeated: list[dict[str, Any]] = []
    for room_id, channel in channels.items():
        items = page_all(api, 100, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", room_id)
        for item in items:
            line = lines[item["message_id"]]
            if _repeats_a_tag(line):
                # IRCv3 says the last value wins (the oracle, the parser); the stored row's typed
                # column keeps the first one (twitch/irc/rows.py), for every API shape alike.
                repeated.append(json.loads(item["message"]))
                continue
            room = room_in_force(channel, str(room_id), (), item["timestamp"])
            served.append(assert_seed_shape(item, line, room))
    assert sorted(m["id"] for m in served + repeated) == sorted(lines)
    assert len(repeated) == 1  # Chatterino's shared-chat line sends `badges` twice
    # What the fixtures add to the recording's coverage (values checked by the oracle above).
    assert any(m["reply_parent_msg_id"] for m in served)
    assert any(m["is_me"] for m in served) and any(m["bits"] for m in served)
    assert any(m["user"]["vip"] for m in served)
    assert {m["user"]["user_type"] for m in served} >= {None, "mod", "staff"}
    assert any(any("/" in e for e in m["emotes"] or {}) for m in served)  # 80481_/3


def test_vip_from_the_tag_or_the_badge(api, warehouse, load, fixture_lines, xqcow_lines) -> None:
    # 2019 lines have the vip badge and no vip tag; the recording's 32 are checked by the oracle.
    assert sum("vip/1" in line.split(" ", 1)[0] for line in xqcow_lines) == 32
    # A vip tag without the badge: nerixyz's line with its vip badge taken off.
    (line,) = [line for line in fixture_lines if "id=97bb0dfb-a35f-446d-8634-7522d8ef73ed" in line]
    line = line.replace("badges=vip/1,subscriber/48", "badges=subscriber/48")
    load(warehouse, [line])
    m = _fixture_message(api, 11148817, 1726920321214, "97bb0dfb-a35f-446d-8634-7522d8ef73ed")
    assert m["user"]["vip"] is True and m["user"]["badges"] == {"subscriber": "48"}
    # Neither: the same line without the tag.
    load(warehouse, [line.replace(";vip=1", "").replace("97bb0dfb", "97bb0dfc")])
    m = _fixture_message(api, 11148817, 1726920321214, "97bb0dfc-a35f-446d-8634-7522d8ef73ed")
    assert m["user"]["vip"] is False


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
    assert m["user"]["badges"] == {"subscriber": "24"}
    assert m["user"]["badge_info"] == {"subscriber": "27"}
    assert m["user"]["color"] == "#FF0000"
    assert m["room"]["room_id"] == "11148817" and m["room"]["name"] == "pajlada"


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
    # The seed served the raw tag value (`\s` for spaces); this API serves the text.
    assert m["reply_parent_msg_body"] == p.tags["reply-parent-msg-body"]
    assert " " in m["reply_parent_msg_body"] and "\\s" not in m["reply_parent_msg_body"]


def test_action_message_json(api, warehouse, load, fixture_lines) -> None:
    load(warehouse, fixture_lines)
    m = _fixture_message(api, 11148817, 1587291881363, "0c46c822-f668-4427-b19a-a1a0780a44ae")
    assert m["is_me"] is True
    assert m["text"] == "-tags Kappa 123 Keepo"
    assert m["emotes"] == {
        "25": [{"start_position": "6", "end_position": "10"}],
        "1902": [{"start_position": "16", "end_position": "20"}],
    }
    assert m["user"]["badges"]["broadcaster"] == "1"


def test_bits_message_json(api, warehouse, load, fixture_lines) -> None:
    load(warehouse, fixture_lines)
    m = _fixture_message(api, 111448817, 1567746107991, "2403678c-6109-43ac-b3b5-1f5230f91729")
    assert m["bits"] == 1500
    assert m["text"] == "Cheer1000 Cheer100 Cheer100 Cheer100 Cheer100 Cheer100"
    assert m["user"]["name"] == "laurenjw28"
    assert m["user"]["display_name"] == "LaurenJW28"
    assert m["user"]["mod"] is True
    assert m["user"]["badges"] == {"moderator": "1", "subscriber": "0", "bits": "1000"}


# --- room: the ROOMSTATE in force when the message was sent -----------------------------------


def _roomstate(tags: str) -> str:
    """A ROOMSTATE line of #xqcow in Twitch's wire form (as in the fixtures' ``#randers`` lines)."""
    return f"@{tags} :tmi.twitch.tv ROOMSTATE #xqcow"


def test_room_is_the_roomstate_in_force(api, warehouse, load, xqcow_lines, oracle) -> None:
    load(warehouse, xqcow_lines)
    expected = _recording(oracle, xqcow_lines)
    a, b, c = expected[1000], expected[2000], expected[3000]
    assert a["ts"] < b["ts"] < c["ts"]
    roomstates = [
        (a["ts"] + 1, _roomstate(f"followers-only=10;room-id={XQCOW_ID}")),
        (b["ts"] + 1, _roomstate(f"room-id={XQCOW_ID};slow=30")),  # a partial update: followers-only stays
    ]
    insert_roomstates(warehouse, roomstates)
    items = page_all(api, limit=100)
    assert_matches_recording(items, expected, roomstates)
    by_id = {i["message_id"]: json.loads(i["message"]) for i in items}
    off = {"is_followers_only": False, "follower_only_delay": 0, "slow": 0}
    assert {k: by_id[a["id"]]["room"][k] for k in off} == off  # before any ROOMSTATE
    assert {k: by_id[b["id"]]["room"][k] for k in off} == {
        **off,
        "is_followers_only": True,
        "follower_only_delay": 10,
    }
    assert {k: by_id[c["id"]]["room"][k] for k in off} == {
        "is_followers_only": True,
        "follower_only_delay": 10,
        "slow": 30,
    }
    # A page that starts after both ROOMSTATEs still folds them (one message per page here).
    window = [e for e in expected if c["ts"] - 1500 <= e["ts"] <= c["ts"]]
    items = page_all(api, limit=1, start=iso(window[0]["ts"]), end=iso(window[-1]["ts"] + 1))
    assert_matches_recording(items, window, roomstates)


def test_room_folds_every_roomstate_before_the_page(api, warehouse, load, xqcow_lines, oracle) -> None:
    """A full ROOMSTATE long before the page, many partial updates since, one in the page's own
    millisecond, every one stored twice, and another channel's, which must not count."""
    load(warehouse, xqcow_lines)
    expected = _recording(oracle, xqcow_lines)
    a, c = expected[100], expected[4000]
    full = f"emote-only=0;followers-only=5;r9k=1;rituals=0;room-id={XQCOW_ID};slow=0;subs-only=1"
    roomstates = [(a["ts"] - 1, _roomstate(full))]
    roomstates += [(a["ts"] + 10 * i, _roomstate(f"room-id={XQCOW_ID};slow={i}")) for i in range(1, 25)]
    roomstates.append((c["ts"], _roomstate(f"emote-only=1;room-id={XQCOW_ID}")))  # same ms as c: in force
    insert_roomstates(warehouse, roomstates)
    insert_roomstates(warehouse, roomstates)  # a re-replay: each stored again, not merged yet
    insert_roomstates(warehouse, [(a["ts"], "@room-id=40286300;slow=120 :tmi.twitch.tv ROOMSTATE #randers")])
    items = page_all(api, limit=1, start=iso(c["ts"]), end=iso(c["ts"] + 1))
    assert_matches_recording(items, [e for e in expected if e["ts"] == c["ts"]], roomstates)
    room = json.loads(items[0]["message"])["room"]
    assert room["is_followers_only"] and room["follower_only_delay"] == 5 and room["slow"] == 24
    assert room["is_unique_only"] and room["is_subs_only"] and room["is_emote_only"]
    assert_matches_recording(page_all(api, limit=100), expected, roomstates)


def test_room_from_recorded_roomstates(api, warehouse, load, fixture_lines) -> None:
    """The fixtures' real #randers ROOMSTATEs (full and partial), received around its 3 messages."""
    load(warehouse, [line for line in fixture_lines if " ROOMSTATE #" not in line])
    states = [line for line in fixture_lines if " ROOMSTATE #randers" in line]
    assert len(states) == 7
    messages = sorted(
        (int(split_line(line)[0]["tmi-sent-ts"]), line)
        for line in fixture_lines
        if " PRIVMSG #randers " in line
    )
    (t1, _), (t2, _), (t3, _) = messages

    def pick(prefix: str) -> str:
        (line,) = {line for line in states if line.startswith(prefix)}
        return line

    roomstates = [
        (t1 - 2000, pick("@emote-only=0;followers-only=-1;r9k=1")),
        (t1 - 1000, pick("@room-id=40286300;subs-only=1")),
        (t2 - 3000, pick("@emote-only=0;followers-only=-1;r9k=0")),
        (t2 - 2000, pick("@emote-only=1;room-id=40286300")),
        (t3 - 3000, pick("@emote-only=1;followers-only=0;")),
        (t3 - 2000, pick("@emote-only=1;followers-only=10;")),
        (t3, pick("@room-id=40286300;slow=5")),
    ]
    insert_roomstates(warehouse, roomstates)
    items = page_all(api, 1, "2019-01-01T00:00:00Z", "2020-01-01T00:00:00Z", 40286300)
    assert [i["timestamp"] for i in items] == [t1, t2, t3]
    rooms = [
        assert_seed_shape(item, line, room_in_force("randers", "40286300", roomstates, ts))["room"]
        for item, (ts, line) in zip(items, messages, strict=True)
    ]
    flags = ["is_emote_only", "is_subs_only", "is_followers_only", "is_unique_only"]
    assert [[r[f] for f in flags] + [r["follower_only_delay"], r["slow"]] for r in rooms] == [
        [False, True, False, True, 0, 0],
        [True, False, False, False, 0, 0],
        [True, True, True, True, 10, 5],
    ]


@pytest.mark.parametrize("min_reload_s", [0.0, 3600.0])
def test_moderation_stored_after_a_read_shows_on_the_next_read(
    api, warehouse, load, monkeypatch, min_reload_s: float
) -> None:
    """The app keeps each channel's moderation timeline between requests (query.timelines): a
    CLEARMSG, then a CLEARCHAT, stored after a page was read mark their messages on the very next
    read, whether the kept timeline is read again at once (0 s) or the page reads its own (3600 s)."""
    from streamscope.query import timelines

    monkeypatch.setattr(timelines, "MIN_RELOAD_S", min_reload_s)
    t = 1568505600000
    ids = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(1, 4)]
    load(
        warehouse,
        [
            f"@badges=;color=;display-name=U{i};emotes=;id={mid};room-id={XQCOW_ID};tmi-sent-ts={t + i};"
            f"user-id={500 + i % 2} :u{i % 2}!u{i % 2}@u{i % 2}.tmi.twitch.tv PRIVMSG #xqcow :hello {i}"
            for i, mid in enumerate(ids)
        ],
    )

    def marks() -> list[tuple[bool, bool, bool]]:
        r = api.get(f"/v1.0/{XQCOW_ID}/chat", params={"start": START, "end": END, "limit": 100})
        assert r.status_code == 200, r.text
        objs = [json.loads(i["message"]) for i in r.json()["messages"]]
        assert [o["id"] for o in objs] == ids
        return [(o["deleted"], o["timed_out"], o["banned"]) for o in objs]

    assert marks() == [(False, False, False)] * 3
    # (Twitch sends CLEARMSG with an empty room-id; the ingest fills it from the channel's other lines.)
    tags = f"login=u1;room-id={XQCOW_ID};target-msg-id={ids[1]};tmi-sent-ts={t + 5}"
    load(warehouse, [f"@{tags} :tmi.twitch.tv CLEARMSG #xqcow :x"])
    assert marks() == [(False, False, False), (True, False, False), (False, False, False)]
    # user 500 (messages 0 and 2) timed out in the millisecond of message 2: both are marked.
    tags = f"ban-duration=1;room-id={XQCOW_ID};target-user-id=500;tmi-sent-ts={t + 2}"
    load(warehouse, [f"@{tags} :tmi.twitch.tv CLEARCHAT #xqcow :u0"])
    assert marks() == [(False, True, False), (True, False, False), (False, True, False)]
