"""The archive export on every real recording, in a real chDB warehouse loaded with the ingest's
``classify``: xqcow, pajlada's user log and the client-library fixtures (replies, escaped tags, odd
emote tags, subs, gifts, raids, announcements, deletions, timeouts, bans, clears).

* An export is a capture of the same lines: for every channel and format, the file equals what
  :func:`open_writer` writes for ``messages_from_lines`` of the loaded lines, in time order (messages
  of a millisecond before its events) — so the ``irc`` file is the stored raw lines, events included.
* Every record of an export is built in Python by the one converter of stored rows (there is no
  second, SQL-built renderer): a message whose text holds control characters, U+2028/U+2029, quotes,
  backslashes, emoji or escaped surrogates is written exactly as a capture of its line writes it.
* Blocks and event windows of any size give the same file; ``events=False`` leaves events out; the
  ``user`` filter keeps the messages and events concerning that user; a large export is streamed in
  blocks.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections import Counter

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.query.archive import ArchiveExport
from streamscope.query.archive_events import event_window
from streamscope.query.archive_query import ArchiveQuery
from streamscope.records import RawLine
from streamscope.sinks.files import FORMATS, FileMessage, messages_from_lines, open_writer
from streamscope.sinks.files.convert import MODERATION_TYPES
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, classify
from tests.data import FIXTURES, PAJLADA, XQCOW
from tests.synthetic import BIG_CHANNEL_ID, BIG_MESSAGES, BIG_TIMEOUTS, insert_big_channel

XQCOW_ID = 71092938
Captured = dict[int, list[FileMessage]]


def _moderation_lines(xqcow: list[str]) -> list[str]:
    """A CLEARMSG deleting one recorded xqcow message and a permanent ban of a recorded chatter who
    was never timed out, in Twitch's wire format (the recording itself has neither)."""
    timed_out = {line.split("target-user-id=")[1].split(";")[0] for line in xqcow if " CLEARCHAT " in line}
    chat = [
        dict(i.split("=", 1) for i in line[1:].split(" ", 1)[0].split(";"))
        for line in xqcow
        if " PRIVMSG " in line
    ]
    victim = next(t for t in chat if t["user-id"] not in timed_out)
    last = max(int(t["tmi-sent-ts"]) for t in chat if t["user-id"] == victim["user-id"])
    deleted = next(t for t in chat if t["user-id"] != victim["user-id"])
    login = victim["display-name"].lower()
    return [
        f"@login={deleted['display-name'].lower()};room-id=;target-msg-id={deleted['id']};"
        f"tmi-sent-ts={int(deleted['tmi-sent-ts']) + 5} :tmi.twitch.tv CLEARMSG #xqcow :gone",
        f"@room-id=71092938;target-user-id={victim['user-id']};tmi-sent-ts={last + 1} "
        f":tmi.twitch.tv CLEARCHAT #xqcow :{login}",
    ]


def _order(m: FileMessage) -> tuple[int, bool, int, int]:
    """The export's order: time; a millisecond's messages before its events; then ClickHouse's UUID
    order (it compares the low 64 bits first, then the high ones)."""
    n = uuid.UUID(m.message_id).int
    return m.timestamp, m.message_type != "text_message", n & (2**64 - 1), n >> 64


@pytest.fixture
def lines(warehouse: Client) -> list[RawLine]:
    """Every recording, loaded into ``warehouse`` in one batch (as a replay of them would be)."""
    paths = [XQCOW, PAJLADA, *sorted(FIXTURES.glob("*.log"))]
    raw = [
        RawLine("", line, 0, "test")
        for p in paths
        for line in p.read_text(encoding="utf-8").split("\n")
        if line
    ]
    raw += [RawLine("xqcow", line, 0, "test") for line in _moderation_lines(XQCOW.read_text().split("\n"))]
    batch = classify(raw, {})
    warehouse.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    warehouse.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))
    return raw


@pytest.fixture
def captured(lines: list[RawLine]) -> Captured:
    """``messages_from_lines`` of the loaded lines per channel id, as the warehouse keeps them (one
    row per time and id: ReplacingMergeTree keeps the last of a batch), in the export's order."""
    rows: dict[tuple[int | None, bool, int, str], FileMessage] = {}
    for m in messages_from_lines(lines):
        rows[(m.channel_id, m.message_type == "text_message", m.timestamp, m.message_id)] = m
    channels: Captured = {}
    for m in sorted(rows.values(), key=_order):
        channels.setdefault(m.channel_id or 0, []).append(m)
    return channels


def _export(client: Client, query: ArchiveQuery, fmt: str, **kwargs: object) -> bytes:
    return b"".join(ArchiveExport(client, query, fmt, **kwargs).chunks())  # type: ignore[arg-type]


def _written(fmt: str, messages: list[FileMessage], channel: str, start_ms: int | None = None) -> bytes:
    buf = io.BytesIO()
    writer = open_writer(fmt, buf, channel=channel, start_ms=start_ms)
    writer.write(messages)
    writer.close()
    return buf.getvalue()


def _with_marks(messages: list[FileMessage], jsonl: bytes) -> list[FileMessage]:
    """``messages`` with the moderation marks the export gave them (messages only: events have
    none); the marks themselves are checked against the recorded CLEARCHATs in tests/api."""
    objs = [json.loads(line) for line in jsonl.splitlines()]
    assert [(o["message_id"], o["timestamp"]) for o in objs] == [
        (m.message_id, m.timestamp) for m in messages
    ]
    for m, o in zip(messages, objs, strict=True):
        if m.message_type == "text_message":
            m.deleted, m.timed_out, m.banned = o["deleted"], o["timed_out"], o["banned"]
        else:
            assert (o["deleted"], o["timed_out"], o["banned"]) == (None, None, None)
    return messages


def test_an_export_is_a_capture_of_the_same_lines(warehouse: Client, captured: Captured) -> None:
    kinds: Counter[str] = Counter()
    for cid, expected in captured.items():
        login = expected[0].channel
        query = ArchiveQuery(cid, login)
        jsonl = _export(warehouse, query, "jsonl")
        _with_marks(expected, jsonl)
        kinds.update(m.message_type for m in expected)
        for fmt in FORMATS:
            assert _export(warehouse, query, fmt) == _written(fmt, expected, login), (login, cid, fmt)
    # Every recorded message and every user-visible event of the recordings is in some file.
    # 7,271 PRIVMSG lines, of which 8 of pajlada's legacy lines (no id) repeat a (time, user, text),
    # the key of an id-less message: one row each.
    assert kinds["text_message"] == 7271 - 8
    # 136 CLEARCHAT/CLEARMSG/USERNOTICE lines (with the 2 added) hold 140 events, all of them here.
    assert {k: kinds[k] for k in ("timeout", "ban", "delete_message", "clear_chat")} == {
        "timeout": 62,
        "ban": 3,
        "delete_message": 7,
        "clear_chat": 5,
    }
    assert kinds["resubscription"] == 21 and kinds["subscription_gift"] == 8 and kinds["raid"] == 3
    assert kinds["announcement"] == 9 and sum(kinds.values()) == 7271 - 8 + 140


def test_the_irc_file_is_the_recorded_lines_in_time_order(warehouse: Client, lines: list[RawLine]) -> None:
    """xqcow's log is 5,000 raw lines (4,933 PRIVMSG, 58 CLEARCHAT, 9 USERNOTICE) not in time order;
    its irc export is those very lines, plus the two added ones, sorted by tmi-sent-ts."""
    # Up to the next day: the fixtures' #xqcow notices are from 2020.
    query = ArchiveQuery(XQCOW_ID, "xqcow", end_ms=1568592000000)
    body = _export(warehouse, query, "irc").decode()
    recorded = XQCOW.read_text(encoding="utf-8").split("\n")[:-1] + [r.line for r in lines if r.channel]
    assert len(recorded) == 5002

    def ts(line: str) -> int:
        return int(line.split("tmi-sent-ts=")[1].split(";")[0].split(" ")[0])

    got = body.splitlines()
    assert sorted(got) == sorted(recorded)
    assert [ts(line) for line in got] == sorted(ts(line) for line in recorded)
    assert [ts(line) for line in recorded] != sorted(ts(line) for line in recorded)


def test_the_exports_cover_every_mark_nested_field_and_event(warehouse: Client, captured: Captured) -> None:
    """What the byte comparisons above covered: every kind of mark, the nested fields, the events."""
    marked = {"deleted": 0, "timed_out": 0, "banned": 0}
    replies = emotes = events = 0
    for cid, expected in captured.items():
        query = ArchiveQuery(cid, expected[0].channel)
        for obj in map(json.loads, _export(warehouse, query, "jsonl").splitlines()):
            for key in marked:
                marked[key] += bool(obj[key])
            replies += obj["reply"] is not None
            emotes += bool(obj["emotes"])
            events += obj["message_type"] != "text_message"
    assert all(n > 0 for n in marked.values()), marked
    assert replies > 5 and emotes > 100 and events == 140


@pytest.mark.parametrize("fmt", FORMATS)
def test_blocks_and_event_windows_change_nothing(warehouse: Client, captured: Captured, fmt: str) -> None:
    """Small blocks and pages of 3 events cut xqcow into ~28 windows and ~80 blocks, with events
    merged at block edges; pages of 1 meet pajlada's millisecond with 3 events (read whole)."""
    for cid, login in ((XQCOW_ID, "xqcow"), (11148817, "pajlada")):
        query = ArchiveQuery(cid, login)
        whole = _export(warehouse, query, fmt)
        small = ArchiveExport(warehouse, query, fmt, block_rows=64, event_page_rows=3)
        assert b"".join(small.chunks()) == whole
        # TwitchDownloader has no moderation comments: its export reads the USERNOTICE events only.
        skipped = MODERATION_TYPES.values() if fmt == "twitchdownloader" else ()
        events = sum(m.message_type not in ("text_message", *skipped) for m in captured[cid])
        messages = sum(m.message_type == "text_message" for m in captured[cid])
        assert (small.events, small.messages) == (events, messages) and events
        if cid == XQCOW_ID:
            assert small.blocks >= events // 3  # a window per 3 events, a chunk or more each
        assert _export(warehouse, query, fmt, block_rows=7, event_page_rows=1) == whole


def test_a_millisecond_with_more_events_than_a_page_is_one_window(
    warehouse: Client, lines: list[RawLine]
) -> None:
    page = event_window(warehouse, ArchiveQuery(11148817, "pajlada", start_ms=1594561955611), page=1)
    assert [m.timestamp for m in page.events] == [1594561955611] * 3
    assert page.end_ms == 1594561955612


def test_events_can_be_left_out(warehouse: Client, lines: list[RawLine], captured: Captured) -> None:
    query = ArchiveQuery(XQCOW_ID, "xqcow", 1568505600000, 1568505720000)
    jsonl = _export(warehouse, query, "jsonl", events=False)
    chat = [
        m
        for m in captured[XQCOW_ID]
        if m.message_type == "text_message" and 1568505600000 <= m.timestamp < 1568505720000
    ]
    assert jsonl == _written("jsonl", _with_marks(chat, jsonl), "xqcow") and chat
    with_events = _export(warehouse, query, "jsonl")
    # The recorded timeouts and subs of those 2 minutes, and the added deletion and ban.
    notices = [
        r.line
        for r in lines
        if re.search(r" (CLEARCHAT|CLEARMSG|USERNOTICE) #xqcow", r.line)
        and 1568505600000 <= int(re.findall(r"tmi-sent-ts=(\d+)", r.line)[0]) < 1568505720000
    ]
    assert len(with_events.splitlines()) - len(jsonl.splitlines()) == len(notices) > 10


def test_user_filter_keeps_the_messages_and_events_concerning_the_user(
    warehouse: Client, captured: Captured
) -> None:
    """The xqcow chatter whose message the added CLEARMSG deletes was also timed out: a user export
    holds their messages, their timeouts and that deletion (matched by login, or for a numeric id
    through the deleted message's id), in time order; time bounds apply to events too."""
    deletion = next(m for m in captured[XQCOW_ID] if m.message_type == "delete_message")
    login = deletion.target["name"] if deletion.target else ""
    mine = [m for m in captured[XQCOW_ID] if m.author.name == login or (m.target or {}).get("name") == login]
    user_id = next(m.author.id for m in mine if m.message_type == "text_message")
    recorded = XQCOW.read_text(encoding="utf-8").split("\n")
    assert Counter(m.message_type for m in mine) == {
        "text_message": sum(f":{login}!{login}@" in line for line in recorded),
        "timeout": sum(line.endswith(f" CLEARCHAT #xqcow :{login}") for line in recorded),
        "delete_message": 1,
    }
    assert len(mine) > 4
    _with_marks(mine, _export(warehouse, ArchiveQuery(XQCOW_ID, "xqcow", user_login=login), "jsonl"))
    for fmt in FORMATS:
        by_login = _export(warehouse, ArchiveQuery(XQCOW_ID, "xqcow", user_login=login), fmt)
        assert by_login == _written(fmt, mine, "xqcow"), fmt
        assert _export(warehouse, ArchiveQuery(XQCOW_ID, "xqcow", user_id=user_id), fmt) == by_login
    start = mine[1].timestamp
    later = ArchiveQuery(XQCOW_ID, "xqcow", start_ms=start, user_login=login)
    assert _export(warehouse, later, "irc") == _written("irc", mine[1:], "xqcow")


def test_a_large_export_is_streamed_in_blocks(warehouse: Client) -> None:
    """300k messages leave ClickHouse in many blocks and come out in many chunks, each a small part of
    the file: the export never holds all rows (peak memory is measured in bench/export.py). 3,000
    timeouts, one every second, read in pages of 500 (6 windows), land each right after the message
    of its second."""
    n, events = BIG_MESSAGES, BIG_TIMEOUTS
    insert_big_channel(warehouse)
    export = ArchiveExport(warehouse, ArchiveQuery(BIG_CHANNEL_ID, "big"), "jsonl", event_page_rows=500)
    sizes, times, kinds = [], [], []
    for chunk in export.chunks():
        sizes.append(len(chunk))
        for line in chunk.splitlines():
            obj = json.loads(line)
            times.append(obj["timestamp"])
            kinds.append(obj["message_type"])
    assert (export.rows, export.messages, export.events) == (n + events, n, events)
    assert export.blocks == len(sizes) >= 10 and max(sizes) < sum(sizes) / 5
    assert times == sorted(times) and len(times) == n + events
    assert [i for i, k in enumerate(kinds) if k == "timeout"] == [101 * k + 1 for k in range(events)]
