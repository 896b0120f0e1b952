"""The chat dataflow: real recordings → Bytewax → chDB, exact counts, dedup, dead letters, rebuild."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.app.runtime import Runtime
from streamscope.pipelines.chat import ParseEnrich
from streamscope.pipelines.transport import Received
from streamscope.sources.replay import read_lines, replay
from streamscope.twitch.irc.rows import MESSAGE_COLUMNS, RowBatch, rebuild_message_line
from tests.data import FIXTURES, PAJLADA, XQCOW
from tests.fixtures.embedded import embedded_runtime

CONTROL = {"PING", "PONG", "CAP", "RECONNECT", "001", "002", "003", "004", "372", "375", "376"}


def command_of(line: str) -> str:
    """The IRC command of a raw line, found independently of the parser under test."""
    words = line.split(" ")
    if words[0].startswith("@"):
        words = words[1:]
    if words[0].startswith(":"):
        words = words[1:]
    return words[0]


def raw_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def ingest(client: Client, warehouse_url: str, paths: list[Path]) -> Runtime:
    runtime = embedded_runtime(client, warehouse_url).start_dataflows(["chat"])
    replay(paths, runtime.publisher(topics.IRC_RAW, "replay").publish, batch_size=500)
    runtime.finish(timeout=120)
    return runtime


def scalar(client: Client, sql: str) -> Any:
    return client.query(sql).result_rows[0][0]


def test_parse_enrich_turns_each_batch_into_rows() -> None:
    records = list(read_lines([XQCOW]))
    batches = [records[i : i + 700] for i in range(0, len(records), 700)]
    parse = ParseEnrich()
    out: list[RowBatch] = [parse(Received("t", batch))[1] for batch in batches]

    assert len(out) == len(batches)
    for batch, rows in zip(batches, out, strict=True):
        commands = Counter(command_of(r.line) for r in batch)
        assert len(rows.messages) == commands["PRIVMSG"]
        assert len(rows.events) == commands["CLEARCHAT"] + commands["USERNOTICE"]
        assert rows.dead_letters == []
    id_col = MESSAGE_COLUMNS.index("message_id")
    ids = [row[id_col] for rows in out for row in rows.messages]
    expected = [
        tag.split("=", 1)[1]
        for line in raw_lines(XQCOW)
        if command_of(line) == "PRIVMSG"
        for tag in line[1:].split(" ", 1)[0].split(";")
        if tag.startswith("id=")
    ]
    assert ids == expected


def test_replay_stores_every_line_once_even_when_replayed_twice(
    warehouse: Client, warehouse_url: str
) -> None:
    lines = raw_lines(XQCOW)
    commands = Counter(command_of(line) for line in lines)

    first = ingest(warehouse, warehouse_url, [XQCOW])
    assert first.counters.messages == commands["PRIVMSG"] == 4933
    assert first.counters.events == commands["CLEARCHAT"] + commands["USERNOTICE"] == 67
    assert first.counters.dead_letters == 0
    assert first.counters.lines == len(lines)

    warehouse.command("OPTIMIZE TABLE chat_messages FINAL")
    warehouse.command("SYSTEM STOP MERGES chat_messages")  # keep the second copy on disk to see it hidden
    ingest(warehouse, warehouse_url, [XQCOW])
    assert scalar(warehouse, "SELECT count() FROM chat_messages") == 2 * 4933  # both copies on disk...
    assert scalar(warehouse, "SELECT count() FROM chat_messages FINAL") == 4933  # ...one visible
    assert scalar(warehouse, "SELECT count() FROM chat_events FINAL") == 67
    assert scalar(warehouse, "SELECT uniqExact(message_id) FROM chat_messages") == 4933
    assert warehouse.query("SELECT channel_id, login FROM channels FINAL").result_rows == [
        (71092938, "xqcow")
    ]


def test_raw_lines_rebuild_from_the_warehouse(warehouse: Client, warehouse_url: str) -> None:
    ingest(warehouse, warehouse_url, [XQCOW, PAJLADA])
    names = ", ".join(MESSAGE_COLUMNS)
    result = warehouse.query(f"SELECT {names} FROM chat_messages FINAL")
    rebuilt = sorted(
        rebuild_message_line(dict(zip(result.column_names, row, strict=True))) for row in result.result_rows
    )
    # The 2018 user log repeats 8 lines byte for byte; identical lines are one message, stored once.
    expected = sorted(
        {line for path in (XQCOW, PAJLADA) for line in raw_lines(path) if command_of(line) == "PRIVMSG"}
    )
    assert rebuilt == expected
    events = sorted(r[0] for r in warehouse.query("SELECT raw FROM chat_events FINAL").result_rows)
    assert events == sorted(
        line for line in raw_lines(XQCOW) if command_of(line) in ("CLEARCHAT", "USERNOTICE")
    )


def test_broken_lines_are_dead_lettered_and_the_rest_flows(
    warehouse: Client, warehouse_url: str, tmp_path: Path
) -> None:
    good = raw_lines(XQCOW)[:300]
    broken = [
        "@badge-info=;badges= ",
        "@a=b;c=d",
        "   ",
        ":only.a.prefix",
        "@x=1 :tmi.twitch.tv FOOBAR #xqcow :?",
    ]
    mixed = good[:100] + broken + good[100:]
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(mixed) + "\n", encoding="utf-8")

    pipeline = ingest(warehouse, warehouse_url, [path])

    stored = Counter(command_of(line) for line in good)
    assert pipeline.counters.messages == stored["PRIVMSG"]
    assert pipeline.counters.events == stored["CLEARCHAT"] + stored["USERNOTICE"]
    assert pipeline.counters.dead_letters == len(broken)
    rows = warehouse.query("SELECT raw, reason, stage FROM dead_letters ORDER BY raw").result_rows
    assert sorted(r[0] for r in rows) == sorted(broken)
    assert all(reason and stage == "parse" for _, reason, stage in rows)
    assert scalar(warehouse, "SELECT count() FROM chat_messages FINAL") == stored["PRIVMSG"]


def test_control_lines_are_counted_not_stored(warehouse: Client, warehouse_url: str, tmp_path: Path) -> None:
    lines = [
        ":tmi.twitch.tv PING",
        ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
        ":tmi.twitch.tv 001 justinfan123 :Welcome, GLHF!",
        ":tmi.twitch.tv RECONNECT",
        *raw_lines(XQCOW)[:10],
    ]
    path = tmp_path / "control.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipeline = ingest(warehouse, warehouse_url, [path])
    assert pipeline.counters.control == 4
    assert pipeline.counters.lines == len(lines)
    assert scalar(warehouse, "SELECT count() FROM dead_letters") == 0


def test_a_restarted_flow_knows_the_channels_the_warehouse_has_seen(
    warehouse: Client, warehouse_url: str, tmp_path: Path
) -> None:
    # A real CLEARMSG of the fixtures without a room id (Twitch sends `room-id=` empty there).
    clearmsg = next(
        line
        for path in sorted(FIXTURES.glob("*.log"))
        for line in raw_lines(path)
        if command_of(line) == "CLEARMSG" and ";room-id=;" in line and " #pajlada " in line
    )
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    first.write_text(next(line for line in raw_lines(PAJLADA) if command_of(line) == "PRIVMSG") + "\n")
    second.write_text(clearmsg + "\n")
    ingest(warehouse, warehouse_url, [first])  # learns pajlada's id from the PRIVMSG's room-id
    ingest(warehouse, warehouse_url, [second])  # a new process: only the warehouse remembers
    rows = warehouse.query("SELECT channel_id, kind FROM chat_events FINAL").result_rows
    assert rows == [(11148817, "delete")]
