"""Migration 0003: ``channels`` keeps first/last seen right under merges, ``dead_letters`` counts a
dead letter once however often it is written, and migrating a database with 0001's tables keeps its
rows (also when the migration is cut off at any statement and run again)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.pipelines.chat import known_channels
from streamscope.query.channels import ChannelSummary, list_channels, resolve
from streamscope.sinks.clickhouse import WarehouseWriter
from streamscope.sources.replay import read_lines, sent_ts
from streamscope.twitch.irc.rows import DEAD_LETTER_COLUMNS, classify
from streamscope.warehouse import connect, migrate
from streamscope.warehouse.migrate import Migration, applied, available
from streamscope.warehouse.shared import Warehouse
from tests.data import XQCOW

CHANNEL_COLUMNS = ["channel_id", "login", "first_seen", "last_seen"]
T0 = 1_000_000_000_000  # epoch ms
SPANS = """
SELECT channel_id, argMax(login, last_seen),
       toUnixTimestamp64Milli(min(first_seen)), toUnixTimestamp64Milli(max(last_seen))
FROM channels GROUP BY channel_id ORDER BY channel_id
"""
PER_LOGIN = """
SELECT channel_id, login, toUnixTimestamp64Milli(first_seen), toUnixTimestamp64Milli(last_seen)
FROM channels FINAL ORDER BY channel_id, login
"""
DEAD = """
SELECT toUnixTimestamp64Milli(received_at), source, channel, stage, reason, raw
FROM dead_letters FINAL ORDER BY received_at, raw
"""


def scalar(client: Client, sql: str) -> int:
    return int(client.query(sql).result_rows[0][0])


def migration(version: int) -> Migration:
    (found,) = [m for m in available() if m.version == version]
    return found


def test_channels_keep_earliest_first_seen_and_latest_last_seen_after_merge(warehouse: Client) -> None:
    # Two inserts, two parts: OPTIMIZE ... FINAL merges them into one row per key.
    warehouse.insert("channels", [(1, "chan", T0, T0 + 10)], column_names=CHANNEL_COLUMNS)
    warehouse.insert("channels", [(1, "chan", T0 + 5, T0 + 600_000)], column_names=CHANNEL_COLUMNS)
    warehouse.command("OPTIMIZE TABLE channels FINAL")

    assert warehouse.query(PER_LOGIN).result_rows == [(1, "chan", T0, T0 + 600_000)]
    assert scalar(warehouse, "SELECT count() FROM channels") == 1  # really merged, not just FINAL


def test_a_renamed_channel_keeps_both_logins_and_resolves_to_the_newest(warehouse: Client) -> None:
    warehouse.insert("channels", [(1, "old", T0, T0 + 100)], column_names=CHANNEL_COLUMNS)
    warehouse.insert("channels", [(1, "new", T0 + 200, T0 + 300)], column_names=CHANNEL_COLUMNS)
    warehouse.insert("channels", [(1, "old", T0 - 50, T0 + 150)], column_names=CHANNEL_COLUMNS)
    warehouse.command("OPTIMIZE TABLE channels FINAL")

    assert warehouse.query(PER_LOGIN).result_rows == [
        (1, "new", T0 + 200, T0 + 300),
        (1, "old", T0 - 50, T0 + 150),
    ]
    assert warehouse.query(SPANS).result_rows == [(1, "new", T0 - 50, T0 + 300)]
    # The readers: the channel lookup and list, and the chat dataflow's login -> id seed.
    wh = Warehouse(warehouse)
    assert (resolve(wh, "1").login, resolve(wh, "new").id) == ("new", 1)
    assert list_channels(wh) == [ChannelSummary(1, "new", T0 - 50, T0 + 300, 0)]
    assert known_channels(warehouse) == {"new": 1, "old": 1}


def test_the_same_dead_letter_twice_counts_once(warehouse: Client) -> None:
    row = (T0, "irc", "chan", "parse", "unknown command 'totally'", "totally garbage line")
    for _ in range(2):
        warehouse.insert("dead_letters", [row], column_names=DEAD_LETTER_COLUMNS)
    other = (T0, "irc", "chan", "parse", "unknown command 'totally'", "totally garbage line 2")
    warehouse.insert("dead_letters", [other], column_names=DEAD_LETTER_COLUMNS)

    assert scalar(warehouse, "SELECT count() FROM dead_letters FINAL") == 2
    warehouse.command("OPTIMIZE TABLE dead_letters FINAL")
    assert scalar(warehouse, "SELECT count() FROM dead_letters") == 2


def test_replaying_a_bad_line_twice_stores_it_once(warehouse: Client, tmp_path: Path) -> None:
    good = next(r.line for r in read_lines([XQCOW]) if " PRIVMSG " in r.line)
    recording = tmp_path / "bad.log"
    recording.write_text(f"{good}\ntotally garbage line\nPRIVMSG #xqcow\n", encoding="utf-8")
    for _ in range(2):  # a re-replay: a new writer, the same file
        writer = WarehouseWriter(warehouse, batch_rows=10_000, flush_interval_s=3600)
        writer.add(classify(list(read_lines([recording])), {}))
        assert writer.flush().dead_letters == 2

    ts = sent_ts(good)
    assert warehouse.query(DEAD).result_rows == [
        (ts, "replay", "xqcow", "parse", "PRIVMSG needs a channel and a text", "PRIVMSG #xqcow"),
        (ts, "replay", "", "parse", "unknown command 'totally'", "totally garbage line"),
    ]
    assert scalar(warehouse, "SELECT count() FROM chat_messages FINAL") == 1
    # The writer's channel rows still go in as plain (id, login, first, last) rows.
    assert warehouse.query(SPANS).result_rows == [(71092938, "xqcow", ts, ts)]


@pytest.fixture
def old_warehouse(warehouse_url: str) -> Iterator[Callable[[], Client]]:
    """Databases migrated up to 0002 only (the schema before 0003), dropped after the test."""
    made: list[tuple[Client, str]] = []

    def make() -> Client:
        name = f"t_{uuid.uuid4().hex[:12]}"
        client = connect(warehouse_url, name)
        made.append((client, name))
        applied(client)
        for mig in available():
            if mig.version < 3:
                for statement in mig.statements:
                    client.command(statement)
                client.insert(
                    "schema_migrations", [[mig.version, mig.name]], column_names=["version", "name"]
                )
        return client

    yield make
    for client, name in made:
        client.command(f"DROP DATABASE IF EXISTS `{name}`")


def fill_old_schema(client: Client) -> None:
    """Rows as 0001's tables hold them: unmerged channel rows, a dead letter stored twice.

    One INSERT each without optimize_on_insert: a single part, so no background merge can collapse
    the old ReplacingMergeTree's rows before the migration copies them.
    """
    client.insert(
        "channels",
        [
            (1, "old", T0, T0 + 100),
            (1, "old", T0 - 50, T0 + 150),
            (1, "new", T0 + 200, T0 + 300),
            (2, "solo", T0 + 7, T0 + 7),
        ],
        column_names=CHANNEL_COLUMNS,
        settings={"optimize_on_insert": 0},
    )
    dead = (T0, "irc", "chan", "parse", "unknown command 'totally'", "totally garbage line")
    other = (T0 + 1, "replay", "", "insert", "insert into chat_messages failed: x", "@a=b PRIVMSG #c :hi")
    client.insert("dead_letters", [dead, dead, other], column_names=DEAD_LETTER_COLUMNS)


def assert_migrated(client: Client) -> None:
    tables = dict(
        client.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()").result_rows
    )
    assert (tables["channels"], tables["dead_letters"]) == ("AggregatingMergeTree", "ReplacingMergeTree")
    assert not [name for name in tables if name.endswith("_0003")]  # no scratch table left behind
    assert client.query(PER_LOGIN).result_rows == [
        (1, "new", T0 + 200, T0 + 300),
        (1, "old", T0 - 50, T0 + 150),
        (2, "solo", T0 + 7, T0 + 7),
    ]
    assert client.query(SPANS).result_rows == [(1, "new", T0 - 50, T0 + 300), (2, "solo", T0 + 7, T0 + 7)]
    assert client.query(DEAD).result_rows == [
        (T0, "irc", "chan", "parse", "unknown command 'totally'", "totally garbage line"),
        (T0 + 1, "replay", "", "insert", "insert into chat_messages failed: x", "@a=b PRIVMSG #c :hi"),
    ]
    versions = [int(r[0]) for r in client.query("SELECT version FROM schema_migrations").result_rows]
    assert sorted(versions) == sorted(m.version for m in available())


def test_migrating_old_schema_keeps_its_rows(old_warehouse: Callable[[], Client]) -> None:
    client = old_warehouse()
    fill_old_schema(client)
    assert migrate(client) == [f"{m.version:04d}_{m.name}" for m in available() if m.version >= 3]
    assert_migrated(client)
    assert migrate(client) == []
    # The writer's rows go into the migrated tables like before.
    writer = WarehouseWriter(client, batch_rows=10_000, flush_interval_s=3600)
    good = next(r for r in read_lines([XQCOW]) if " PRIVMSG " in r.line)
    writer.add(classify([good], {}))
    writer.flush()
    assert (71092938, "xqcow") in {(r[0], r[1]) for r in client.query(SPANS).result_rows}


@pytest.mark.parametrize("done", range(len(migration(3).statements) + 1))
def test_migration_cut_off_after_any_statement_completes_when_run_again(
    old_warehouse: Callable[[], Client], done: int
) -> None:
    """``done`` statements of 0003 ran before the process died (all of them: died before recording
    the version, or the file run twice); the next ``migrate`` runs the whole file again."""
    client = old_warehouse()
    fill_old_schema(client)
    for statement in migration(3).statements[:done]:
        client.command(statement)
    migrate(client)
    assert_migrated(client)
