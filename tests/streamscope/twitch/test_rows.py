"""Warehouse rows from real lines: column order, rebuild, dead letters, channel ids."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import streamscope
from streamscope.records import RawLine
from streamscope.twitch.irc.rows import (
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    ID_NAMESPACE,
    MESSAGE_COLUMNS,
    RowBatch,
    classify,
    rebuild_message_line,
)

T0 = 1_700_000_000_000
MIGRATION = Path(streamscope.__file__).parent / "warehouse" / "migrations" / "0001_chat.sql"


def raw_lines(lines: list[str], channel: str = "") -> list[RawLine]:
    return [RawLine(channel, line, T0 + i, "replay") for i, line in enumerate(lines)]


def table_columns(table: str) -> tuple[str, ...]:
    sql = MIGRATION.read_text()
    body = sql.split(f"CREATE TABLE IF NOT EXISTS {table}", 1)[1].split("ENGINE", 1)[0]
    cols = []
    for line in body.splitlines():
        m = re.match(r"\s{4}([a-z_]+)\s+\S", line)
        if m and m.group(1) != "INDEX":
            cols.append(m.group(1))
    return tuple(cols)


def test_columns_match_migration() -> None:
    assert table_columns("chat_messages") == MESSAGE_COLUMNS
    assert table_columns("chat_events") == EVENT_COLUMNS
    assert table_columns("dead_letters") == DEAD_LETTER_COLUMNS


def as_clickhouse_returns(row: dict[str, Any]) -> dict[str, Any]:
    """What clickhouse-connect hands back: tz-aware datetimes, uuid.UUID, plain dict for Map."""
    out = dict(row)
    out["sent_at"] = datetime.fromtimestamp(row["sent_at"] / 1000, tz=UTC)
    out["received_at"] = datetime.fromtimestamp(row["received_at"] / 1000, tz=UTC)
    out["message_id"] = uuid.UUID(row["message_id"])
    out["tags"] = dict(row["tags"])
    return out


@pytest.fixture(scope="module")
def batches(irc_files: dict[str, list[str]]) -> dict[str, RowBatch]:
    return {name: classify(raw_lines(lines), {}) for name, lines in irc_files.items()}


def test_every_line_lands_somewhere_and_nothing_is_dead(
    irc_files: dict[str, list[str]], batches: dict[str, RowBatch]
) -> None:
    for name, batch in batches.items():
        stored = len(batch.messages) + len(batch.events) + len(batch.dead_letters) + batch.control
        assert stored == len(irc_files[name]), name
        assert batch.dead_letters == [], name
    xq = batches["recorded/xqcow_2019-09-15.log"]
    assert (len(xq.messages), len(xq.events), xq.control) == (4933, 67, 0)
    assert xq.channels == {71092938: "xqcow"}


def test_every_message_row_rebuilds_exactly(
    irc_files: dict[str, list[str]], batches: dict[str, RowBatch]
) -> None:
    lines_by_id: dict[str, str] = {}
    for name, batch in batches.items():
        originals = {line for line in irc_files[name] if " PRIVMSG " in line}
        rebuilt = set()
        for row in batch.messages:
            as_dict = dict(zip(MESSAGE_COLUMNS, row, strict=True))
            line = rebuild_message_line(as_dict)
            assert rebuild_message_line(as_clickhouse_returns(as_dict)) == line
            rebuilt.add(line)
            # Same id <=> same line: Twitch ids are unique, and derived ids (legacy lines) only
            # collide for byte-identical lines, which the warehouse should indeed store once.
            assert lines_by_id.setdefault(as_dict["message_id"], line) == line
        assert rebuilt == originals, name
    # The 2018 user log repeats a few identical lines (same second, user, text): 8 collapse.
    assert len(lines_by_id) == sum(len(b.messages) for b in batches.values()) - 8


def test_raw_fallback_fraction(batches: dict[str, RowBatch]) -> None:
    fractions = {}
    for name, batch in batches.items():
        if batch.messages:
            fractions[name] = sum(1 for r in batch.messages if r[16]) / len(batch.messages)
    print("raw_fallback fraction per file:", fractions)
    assert fractions["recorded/xqcow_2019-09-15.log"] == 0
    assert fractions["recorded/pajlada_userlog_2018_part1.log"] == 0
    # Only the three shared-chat lines whose text is sent without ':' need the raw line, and one
    # Chatterino fixture line that sends `badges` twice (the last value wins, the line is kept).
    kept = [r for b in batches.values() for r in b.messages if r[16]]
    assert len(kept) == 4
    rows = [dict(zip(MESSAGE_COLUMNS, r, strict=True)) for r in kept]
    repeated = [r for r in rows if r["message_id"] == "3e0750f7-541e-4f7c-8fec-4f943bfd84a3"]
    assert [r["badges"] for r in repeated] == ["bits/100"]


def test_message_row_values(find_line: Callable[[str], str]) -> None:
    line = find_line("id=d831d848-b7c7-4559-ae3a-2cb88f4dbfed")
    batch = classify([RawLine("pajlada", line, T0, "irc")], {})
    row = dict(zip(MESSAGE_COLUMNS, batch.messages[0], strict=True))
    assert row == {
        "channel_id": 11148817,
        "channel": "pajlada",
        "sent_at": 1594555275886,
        "message_id": "d831d848-b7c7-4559-ae3a-2cb88f4dbfed",
        "user_id": 40286300,
        "user_login": "randers",
        "display_name": "randers",
        "text": "-tags",
        "is_action": True,
        "bits": 0,
        "color": "#19E6E6",
        "badges": "moderator/1,subscriber/12",
        "badge_info": "subscriber/22",
        "emotes": "",
        "tag_layout": "=badge-info,=badges,=color,=display-name,=emotes,flags,=id,mod,=room-id,subscriber,"
        "=tmi-sent-ts,turbo,=user-id,user-type",
        "tags": {"flags": "", "mod": "1", "subscriber": "1", "turbo": "0", "user-type": "mod"},
        "raw_fallback": "",
        "received_at": T0,
        "source": "irc",
    }
    assert batch.channels == {11148817: "pajlada"}


def test_non_canonical_values_stay_raw() -> None:
    line = (
        "@display-name=a\\b;id=ABCDEF01-0000-4000-8000-000000000000;tmi-sent-ts=0123;user-id=7 "
        ":a!a@a.tmi.twitch.tv PRIVMSG #c :hi"
    )
    row = dict(zip(MESSAGE_COLUMNS, classify(raw_lines([line]), {}).messages[0], strict=True))
    assert row["tag_layout"] == "display-name,id,tmi-sent-ts,=user-id"
    assert row["tags"] == {
        "display-name": "a\\b",
        "id": "ABCDEF01-0000-4000-8000-000000000000",
        "tmi-sent-ts": "0123",
    }
    assert (row["message_id"], row["sent_at"], row["display_name"]) == (
        "abcdef01-0000-4000-8000-000000000000", 123, "ab",
    )  # fmt: skip
    assert row["raw_fallback"] == ""
    assert rebuild_message_line(row) == line


@pytest.mark.parametrize(
    ("first", "last"),
    [("color=#FF0000", "color=#00FF00"), ("color=a\\qb", "color=#00FF00"), ("color=#00FF00", "color=a\\qb")],
)
def test_repeated_tag_last_value_wins_and_line_is_kept(first: str, last: str) -> None:
    # IRCv3 message-tags: "If a tag key is repeated, the last value wins" (a typed column and the
    # tags map must agree with that), and the row still rebuilds the line byte for byte.
    line = (
        f"@{first};id=abcdef01-0000-4000-8000-000000000000;tmi-sent-ts=123;bits=5;bits=7;{last} "
        ":a!a@a.tmi.twitch.tv PRIVMSG #c :hi"
    )
    row = dict(zip(MESSAGE_COLUMNS, classify(raw_lines([line]), {}).messages[0], strict=True))
    expected_color = "#00FF00" if last == "color=#00FF00" else "aqb"  # "\\q" unescapes to "q"
    assert (row["bits"], row["color"] or row["tags"].get("color")) == (7, expected_color)
    assert "bits" not in row["tags"]
    assert row["raw_fallback"] == line
    assert rebuild_message_line(row) == line


def test_lines_without_id_get_deterministic_ids(irc_files: dict[str, list[str]]) -> None:
    lines = irc_files["recorded/pajlada_userlog_2018_part1.log"][:50]
    first = classify(raw_lines(lines), {})
    again = classify([RawLine("pajlada", line, 1, "other") for line in lines], {})
    assert [r[3] for r in first.messages] == [r[3] for r in again.messages]
    row = dict(zip(MESSAGE_COLUMNS, first.messages[0], strict=True))
    expected = uuid.uuid5(ID_NAMESPACE, f"pajlada\x00{row['sent_at']}\x0011148817\x00{row['text']}")
    assert row["message_id"] == str(expected)
    # Events without an id: uuid5 of the raw line; `at` falls back to received_at without tmi-sent-ts.
    join = ":justinfan57624!justinfan57624@justinfan57624.tmi.twitch.tv JOIN #riotgames"
    ev = dict(
        zip(EVENT_COLUMNS, classify([RawLine("riotgames", join, 42, "irc")], {}).events[0], strict=True)
    )
    assert (ev["event_id"], ev["at"], ev["kind"], ev["user_login"]) == (
        str(uuid.uuid5(ID_NAMESPACE, join)), 42, "join", "justinfan57624",
    )  # fmt: skip


def test_event_rows(find_line: Callable[[str], str]) -> None:
    lines = [
        find_line("tmi-sent-ts=1594553828245"),  # timeout
        find_line("tmi-sent-ts=1594561360331"),  # ban
        find_line("tmi-sent-ts=1594561392337"),  # clear (#randers)
        find_line("target-msg-id=15e5164d-f8e6-4aec-baf4-2d6a330760c4"),  # CLEARMSG with room-id=
        find_line("id=e9176cd8-5e22"),  # subgift
    ]
    batch = classify(raw_lines(lines), {})
    rows = [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in batch.events]
    assert [(r["command"], r["kind"], r["channel"], r["channel_id"]) for r in rows] == [
        ("CLEARCHAT", "timeout", "pajlada", 11148817),
        ("CLEARCHAT", "ban", "pajlada", 11148817),
        ("CLEARCHAT", "clear", "randers", 40286300),
        ("CLEARMSG", "delete", "pajlada", 11148817),  # channel id from the cache filled above
        ("USERNOTICE", "subgift", "pajlada", 19571752),
    ]
    assert (rows[0]["target_login"], rows[0]["target_user_id"], rows[0]["duration_s"]) == (
        "fabzeef",
        148973258,
        1,
    )
    assert (rows[1]["target_login"], rows[1]["duration_s"]) == ("weeb123", 0)
    assert (rows[3]["target_login"], rows[3]["target_message_id"], rows[3]["text"]) == (
        "randers", "15e5164d-f8e6-4aec-baf4-2d6a330760c4", "test",
    )  # fmt: skip
    gift = rows[4]
    assert (gift["user_login"], gift["target_login"], gift["target_user_id"]) == (
        "tww2",
        "mr_woodchuck",
        89614178,
    )
    assert gift["system_message"] == "TWW2 gifted a Tier 1 sub to Mr_Woodchuck!"
    assert gift["tags"]["msg-param-sub-plan-name"] == "House of Nyoro~n"
    assert gift["event_id"] == "e9176cd8-5e22-4684-ad40-ce53c2561c5e"
    assert gift["at"] == 1521159445153
    assert all(r["raw"] == line for r, line in zip(rows, lines, strict=True))


def test_channel_id_cache_is_used_and_updated() -> None:
    cache = {"pajlada": 11148817}
    line = (
        "@login=alazymeme;room-id=;target-msg-id=3c92014f-340a-4dc3-a9c9-e5cf182f4a84;"
        "tmi-sent-ts=1594561955611 :tmi.twitch.tv CLEARMSG #pajlada :lole"
    )
    batch = classify(raw_lines([line]), cache)
    assert batch.events[0][0] == 11148817
    assert batch.channels == {}
    classify(raw_lines(["@room-id=40286300;slow=5 :tmi.twitch.tv ROOMSTATE #randers"]), cache)
    assert cache == {"pajlada": 11148817, "randers": 40286300}
    assert classify(raw_lines([line.replace("#pajlada", "#unknown")]), cache).events[0][0] == 0


def test_broken_lines_are_dead_letters_and_do_not_affect_others(find_line: Callable[[str], str]) -> None:
    good = find_line("id=d7f03a35-f339-41ca-b4d4-7c0721438570")
    lines = [
        "",
        good,
        "@a=b",
        "totally garbage line",
        ":tmi.twitch.tv PING",
        "PRIVMSG #chan",
        good.replace("id=d7", "id=e7"),
    ]
    batch = classify([RawLine("pajlada", line, T0 + i, "irc") for i, line in enumerate(lines)], {})
    assert batch.dead_letters == [
        (T0, "irc", "pajlada", "parse", "empty line", ""),
        (T0 + 2, "irc", "pajlada", "parse", "tags without a command", "@a=b"),
        (T0 + 3, "irc", "pajlada", "parse", "unknown command 'totally'", "totally garbage line"),
        (T0 + 5, "irc", "pajlada", "parse", "PRIVMSG needs a channel and a text", "PRIVMSG #chan"),
    ]
    assert batch.control == 1
    assert [r[3] for r in batch.messages] == [
        "d7f03a35-f339-41ca-b4d4-7c0721438570",
        "e7f03a35-f339-41ca-b4d4-7c0721438570",
    ]
    assert [r[16] for r in batch.messages] == ["", ""]
