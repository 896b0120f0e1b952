"""The archive export's two paths agree byte for byte on every real recording.

ClickHouse builds json/jsonl/csv/txt records itself (``sinks.files.archive_sql``); the Python writers
build them from :class:`FileMessage` objects. Both run over all recorded channels (xqcow, pajlada's
user log and the client-library fixtures, which hold replies, escaped tags, odd emote tags,
deletions, timeouts and bans) in a real chDB warehouse loaded with the ingest's ``classify``.
"""

from __future__ import annotations

import json

import pytest
from clickhouse_connect.driver.client import Client

from sinks.files.archive import SQL_FORMATS, ArchiveExport, ArchiveQuery
from streamscope.records import RawLine
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, classify
from tests.data import FIXTURES, PAJLADA, XQCOW


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


@pytest.fixture
def archive(warehouse: Client) -> list[tuple[int, str]]:
    paths = [XQCOW, PAJLADA, *sorted(FIXTURES.glob("*.log"))]
    lines = [
        RawLine("", line, 0, "test")
        for p in paths
        for line in p.read_text(encoding="utf-8").split("\n")
        if line
    ]
    lines += [RawLine("xqcow", line, 0, "test") for line in _moderation_lines(XQCOW.read_text().split("\n"))]
    batch = classify(lines, {})
    warehouse.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    warehouse.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))
    rows = warehouse.query(
        "SELECT DISTINCT channel_id, channel FROM chat_messages ORDER BY channel_id"
    ).result_rows
    return [(int(cid), str(login)) for cid, login in rows]


def test_clickhouse_records_equal_the_python_writers(
    warehouse: Client, archive: list[tuple[int, str]]
) -> None:
    assert len(archive) >= 10
    marked = {"deleted": 0, "timed_out": 0, "banned": 0}
    replies = emotes = 0
    for cid, login in archive:
        for fmt in sorted(SQL_FORMATS):
            query = ArchiveQuery(cid, login)
            fast = b"".join(ArchiveExport(warehouse, query, fmt).chunks())
            slow = b"".join(ArchiveExport(warehouse, query, fmt, fast=False).chunks())
            assert fast == slow, (login, fmt)
            if fmt == "jsonl":
                for obj in map(json.loads, fast.splitlines()):
                    for key in marked:
                        marked[key] += obj[key]
                    replies += obj["reply"] is not None
                    emotes += bool(obj["emotes"])
    # The comparison covered every kind of mark and the nested fields.
    assert all(n > 0 for n in marked.values()), marked
    assert replies > 5 and emotes > 100


def test_time_range_and_user_filters_apply_to_both_paths(
    warehouse: Client, archive: list[tuple[int, str]]
) -> None:
    query = ArchiveQuery(71092938, "xqcow", 1568505600000, 1568505720000, user_login="onche")
    fast = b"".join(ArchiveExport(warehouse, query, "jsonl").chunks())
    slow = b"".join(ArchiveExport(warehouse, query, "jsonl", fast=False).chunks())
    objs = [json.loads(line) for line in fast.splitlines()]
    assert fast == slow and objs
    assert all(
        o["author"]["name"] == "onche" and 1568505600000 <= o["timestamp"] < 1568505720000 for o in objs
    )
