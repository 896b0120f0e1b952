"""Migration 0004: every ROOMSTATE of chat_events is in room_states, written then or before."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from streamscope.records import RawLine
from streamscope.twitch.irc.rows import EVENT_COLUMNS, classify
from streamscope.warehouse import migrate
from streamscope.warehouse.migrate import available
from tests.data import FIXTURES


def _events() -> list[RawLine]:
    """The fixtures' #randers lines (7 ROOMSTATEs, CLEARCHATs, NOTICEs, ...), received 1 s apart."""
    lines = [
        line
        for path in sorted(FIXTURES.glob("*.log"))
        for line in path.read_text(encoding="utf-8").split("\n")
        if " #randers" in line and " PRIVMSG " not in line
    ]
    return [RawLine("randers", line, 1_600_000_000_000 + 1000 * i, "test") for i, line in enumerate(lines)]


def _insert(client: Client, raw: list[RawLine]) -> int:
    """Insert the lines' events; returns how many are ROOMSTATEs."""
    events = classify(raw, {"randers": 40286300}).events
    client.insert("chat_events", events, column_names=list(EVENT_COLUMNS))
    return sum(e.kind == "roomstate" for e in events)


def _room_states(client: Client) -> list[tuple[int, int, dict[str, str]]]:
    return [
        (int(r[0]), int(r[1]), dict(r[2]))
        for r in client.query(
            "SELECT channel_id, toUnixTimestamp64Milli(at), tags FROM room_states FINAL ORDER BY at, event_id"
        ).result_rows
    ]


def _roomstates_in_events(client: Client) -> list[tuple[int, int, dict[str, str]]]:
    return [
        (int(r[0]), int(r[1]), dict(r[2]))
        for r in client.query(
            "SELECT channel_id, toUnixTimestamp64Milli(at), tags FROM chat_events FINAL "
            "WHERE kind = 'roomstate' ORDER BY at, event_id"
        ).result_rows
    ]


def test_roomstates_written_to_chat_events_land_in_room_states(warehouse: Client) -> None:
    roomstates = _insert(warehouse, _events())
    assert roomstates == 7
    got = _room_states(warehouse)
    assert got == _roomstates_in_events(warehouse)
    assert len(got) == 7 and {cid for cid, _, _ in got} == {40286300}
    assert got[1][2] == {"room-id": "40286300", "subs-only": "1"}  # a partial update, as sent


def test_roomstates_stored_before_the_migration_are_copied_once(warehouse: Client) -> None:
    # A database as it was before 0004: no view, no copies.
    warehouse.command("DROP VIEW room_states_mv")
    warehouse.command("TRUNCATE TABLE room_states")
    warehouse.command("DELETE FROM schema_migrations WHERE version = 4")
    assert _insert(warehouse, _events()) == 7
    assert _room_states(warehouse) == []
    assert migrate(warehouse) == ["0004_room_states"]
    assert _room_states(warehouse) == _roomstates_in_events(warehouse)
    # Every statement run again (an interrupted migration re-run): still each ROOMSTATE once.
    (mig,) = [m for m in available() if m.version == 4]
    for statement in mig.statements:
        warehouse.command(statement)
    assert _room_states(warehouse) == _roomstates_in_events(warehouse)
    assert len(_room_states(warehouse)) == 7
