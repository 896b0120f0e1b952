"""The batching ClickHouse writer: size/interval flushes and per-row isolation of rejected rows."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.sinks.clickhouse import FlushReport, WarehouseWriter
from streamscope.sources.replay import read_lines
from streamscope.twitch.irc.rows import MESSAGE_COLUMNS, RowBatch, classify
from tests.data import XQCOW


def _batch(n: int) -> RowBatch:
    lines = [r for r in read_lines([XQCOW]) if " PRIVMSG " in r.line][:n]
    return classify(lines, {})


def _count(client: Client, table: str) -> int:
    return int(client.query(f"SELECT count() FROM {table}").result_rows[0][0])


def test_flushes_on_size_not_before(warehouse: Client) -> None:
    reports: list[FlushReport] = []
    writer = WarehouseWriter(warehouse, batch_rows=100, flush_interval_s=3600, on_flush=reports.append)
    batch = _batch(250)
    writer.add(RowBatch(messages=batch.messages[:99], events=[], dead_letters=[], control=0, channels={}))
    assert _count(warehouse, "chat_messages") == 0
    writer.add(RowBatch(messages=batch.messages[99:], events=[], dead_letters=[], control=0, channels={}))
    assert _count(warehouse, "chat_messages") == 250
    assert [r.messages for r in reports] == [250]


def test_flushes_on_interval_with_empty_ticks(warehouse: Client) -> None:
    writer = WarehouseWriter(warehouse, batch_rows=10_000, flush_interval_s=0.0)
    writer.add(_batch(5))
    assert _count(warehouse, "chat_messages") == 5
    writer.add(RowBatch(messages=[], events=[], dead_letters=[], control=0, channels={}))
    assert _count(warehouse, "chat_messages") == 5


def test_a_rejected_row_is_dead_lettered_and_the_rest_stored(warehouse: Client) -> None:
    batch = _batch(64)
    id_col = MESSAGE_COLUMNS.index("message_id")
    bad = list(batch.messages[17])
    bad[id_col] = "not-a-uuid"
    batch.messages[17] = tuple(bad)
    writer = WarehouseWriter(warehouse, batch_rows=10_000, flush_interval_s=3600)
    writer.add(batch)
    report = writer.flush()

    assert report.messages == 63
    assert report.dead_letters == 1
    assert _count(warehouse, "chat_messages") == 63
    rows = warehouse.query("SELECT stage, reason, raw FROM dead_letters").result_rows
    assert len(rows) == 1
    stage, reason, raw = rows[0]
    assert stage == "insert"
    assert "chat_messages" in reason
    assert raw  # the payload is kept so the row can be repaired and re-inserted


def test_background_writes_everything_by_flush(warehouse: Client) -> None:
    reports: list[FlushReport] = []
    writer = WarehouseWriter(
        warehouse, batch_rows=100, flush_interval_s=3600, on_flush=reports.append, background=True
    )
    batch = _batch(1000)
    for i in range(0, 1000, 30):
        writer.add(
            RowBatch(messages=batch.messages[i : i + 30], events=[], dead_letters=[], control=0, channels={})
        )
    total = writer.flush()
    assert total.messages == 1000
    assert sum(r.messages for r in reports) == 1000
    assert _count(warehouse, "chat_messages") == 1000
    assert writer.flush().messages == 0  # nothing written twice


def test_background_failure_surfaces_in_the_callers_thread(warehouse: Client) -> None:
    def boom(report: FlushReport) -> None:
        raise OSError("metrics down")

    writer = WarehouseWriter(warehouse, batch_rows=10, flush_interval_s=3600, on_flush=boom, background=True)
    writer.add(_batch(10))
    with pytest.raises(RuntimeError, match="metrics down"):
        writer.flush()
