"""The one moderation-marks rule (:mod:`streamscope.query.moderation`), alone and through both of its
users: an API page of messages and an archive export give every message the same marks.

The boundary that matters: a CLEARCHAT in the same millisecond as its target's message marks that
message ("at or after"); one a millisecond earlier does not.
"""

from __future__ import annotations

import json
import uuid

from clickhouse_connect.driver.client import Client

from streamscope.query.archive import ArchiveExport
from streamscope.query.archive_query import ArchiveQuery
from streamscope.query.cursor import decode
from streamscope.query.messages import CURSOR_SCOPE, MessageQuery, fetch_page
from streamscope.query.moderation import Action, MessageMarks, Moderation, ModerationRow
from streamscope.records import RawLine
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, classify
from streamscope.warehouse.shared import Warehouse

T = 1_700_000_000_000
A, B = 111, 222  # two users


def _row(kind: str, at: int, user: int = 0, message: str = "", duration: int = 0) -> ModerationRow:
    return ModerationRow(kind, user, message, at, duration)


def test_an_action_in_the_same_millisecond_marks_the_message() -> None:
    mod = Moderation([_row("timeout", T, A, duration=30), _row("ban", T - 1, B)])
    assert mod.marks("m1", A, T) == MessageMarks(timed_out=True, actions=(Action("timeout", T, 30),))
    # One millisecond before the message: it cannot be about it.
    assert mod.marks("m2", B, T) == MessageMarks()
    assert mod.marks("m3", B, T - 1).banned is True


def test_the_first_action_at_or_after_the_message_wins() -> None:
    mod = Moderation([_row("ban", T + 50, A), _row("timeout", T + 10, A, duration=60)])
    assert mod.marks("m", A, T) == MessageMarks(timed_out=True, actions=(Action("timeout", T + 10, 60),))
    assert mod.marks("m", A, T + 11) == MessageMarks(banned=True, actions=(Action("ban", T + 50, None),))
    assert mod.marks("m", A, T + 51) == MessageMarks()


def test_deletes_clears_and_users_without_an_id() -> None:
    mod = Moderation(
        [
            _row("delete", T + 5, message="m1"),
            _row("delete", T + 3, message="m1"),  # seen twice: the first one counts
            _row("clear", T + 5),
            _row("timeout", T + 1, 0, duration=5),  # no target id: concerns nobody's messages
            _row("timeout", T + 2, B, duration=5),
        ]
    )
    assert mod.marks("m1", A, T) == MessageMarks(
        deleted=True, cleared=True, actions=(Action("delete", T + 3, None), Action("clear", T + 5, None))
    )
    assert mod.marks("m2", 0, T) == MessageMarks(cleared=True, actions=(Action("clear", T + 5, None),))
    assert mod.marks("m2", B, T + 2) == MessageMarks(
        timed_out=True,
        cleared=True,
        actions=(Action("timeout", T + 2, 5), Action("clear", T + 5, None)),
    )
    assert mod.marks("m3", A, T + 6) == MessageMarks()


def _privmsg(login: str, uid: int, ts: int, mid: str, text: str) -> str:
    return (
        f"@badges=;color=;display-name={login};emotes=;id={mid};room-id=4242;tmi-sent-ts={ts};"
        f"user-id={uid} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #fuzz :{text}"
    )


def test_api_pages_and_exports_give_the_same_marks(warehouse: Client) -> None:
    """a's message and the timeout of a share a millisecond (marked); b was banned a millisecond
    before b's message (not marked) and b's earlier message is deleted; c's message is only cleared."""
    ids = {name: str(uuid.UUID(int=i + 1)) for i, name in enumerate(("a", "b0", "b", "c"))}
    lines = [
        _privmsg("a", A, T, ids["a"], "hello"),
        _privmsg("b", B, T - 10, ids["b0"], "first"),
        f"@room-id=4242;target-user-id={B};tmi-sent-ts={T - 1} :tmi.twitch.tv CLEARCHAT #fuzz :b",
        _privmsg("b", B, T, ids["b"], "again"),
        f"@ban-duration=30;room-id=4242;target-user-id={A};tmi-sent-ts={T} :tmi.twitch.tv CLEARCHAT #fuzz :a",
        f"@login=b;room-id=;target-msg-id={ids['b0']};tmi-sent-ts={T + 2} "
        ":tmi.twitch.tv CLEARMSG #fuzz :first",
        _privmsg("c", 333, T + 3, ids["c"], "late"),
        f"@room-id=4242;tmi-sent-ts={T + 4} :tmi.twitch.tv CLEARCHAT #fuzz",
    ]
    batch = classify([RawLine("fuzz", line, 0, "test") for line in lines], {})
    warehouse.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    warehouse.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))

    page = fetch_page(Warehouse(warehouse), MessageQuery(4242), 100).messages
    api = {m["id"]: (m["deleted"], m["timed_out"], m["banned"], m["cleared"]) for m in page}
    assert api == {
        ids["b0"]: (True, False, True, True),
        ids["a"]: (False, True, False, True),
        ids["b"]: (False, False, False, True),
        ids["c"]: (False, False, False, True),
    }
    assert {m["id"]: m["moderation"] for m in page}[ids["a"]] == [
        {"kind": "timeout", "at": T, "duration_s": 30},
        {"kind": "clear", "at": T + 4, "duration_s": None},
    ]
    # Pages of one message: each page's loader sees its own boundaries (lo = hi = the message's ms).
    single, cursor = [], None
    while True:
        one = fetch_page(Warehouse(warehouse), MessageQuery(4242, after=cursor), 1)
        single += one.messages
        if one.cursor is None:
            break
        cursor = decode(CURSOR_SCOPE, one.cursor)
    assert single == page
    body = b"".join(ArchiveExport(warehouse, ArchiveQuery(4242, "fuzz"), "jsonl", events=False).chunks())
    exported = {
        o["message_id"]: (o["deleted"], o["timed_out"], o["banned"])
        for o in map(json.loads, body.splitlines())
    }
    assert exported == {mid: marks[:3] for mid, marks in api.items()}  # files have no "cleared" field


def test_a_channel_clear_in_the_same_millisecond_marks_the_message() -> None:
    mod = Moderation([_row("clear", T)])  # nothing else: the shortcut for unmarked messages decides
    assert mod.marks("m", B, T) == MessageMarks(cleared=True, actions=(Action("clear", T, None),))
    assert mod.marks("m", B, T + 1) == MessageMarks()


def test_both_loaders_read_actions_in_the_millisecond_they_start_at(warehouse: Client) -> None:
    """The page's first message and the export's start share a millisecond with a CLEARMSG and a
    CLEARCHAT on that message: both loaders' lower bounds include it."""
    mid = str(uuid.UUID(int=7))
    lines = [
        _privmsg("a", A, T, mid, "hello"),
        f"@login=a;room-id=;target-msg-id={mid};tmi-sent-ts={T} :tmi.twitch.tv CLEARMSG #fuzz :hello",
        f"@ban-duration=10;room-id=4242;target-user-id={A};tmi-sent-ts={T} :tmi.twitch.tv CLEARCHAT #fuzz :a",
    ]
    batch = classify([RawLine("fuzz", line, 0, "test") for line in lines], {})
    warehouse.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    warehouse.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))

    (message,) = fetch_page(Warehouse(warehouse), MessageQuery(4242), 100).messages
    marks = (message["id"], message["deleted"], message["timed_out"], message["banned"])
    assert marks == (mid, True, True, False)
    assert message["moderation"] == [
        {"kind": "delete", "at": T, "duration_s": None},
        {"kind": "timeout", "at": T, "duration_s": 10},
    ]
    export = ArchiveExport(warehouse, ArchiveQuery(4242, "fuzz", start_ms=T), "jsonl", events=False)
    (line,) = b"".join(export.chunks()).splitlines()
    exported = json.loads(line)
    assert (exported["message_id"], exported["deleted"], exported["timed_out"]) == (mid, True, True)
