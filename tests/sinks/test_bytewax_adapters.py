"""The epoch-aligned Bytewax sink (:mod:`streamscope.sinks.bytewax_adapters`) on real chDB.

Writers flush on size, on interval and in ``snapshot()``. With an hour-long interval and batches far
larger than the rows written, only the epoch flush can store anything, so these tests see exactly
what ``snapshot()`` does: every row written before it is in the warehouse when it returns, before
the partition is closed.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from streamscope.sinks.clickhouse import ClickHouseEpochSink
from streamscope.sinks.streams import StreamsBatch, StreamsEpochSink
from streamscope.sources.replay import read_lines
from streamscope.twitch.irc.rows import RowBatch, classify
from streamscope.warehouse import connect
from tests.data import XQCOW
from tests.fixtures.helix_server import NINJA_PAGE, SANDY_PAGE, recorded
from tests.sinks.test_streams_writer import T0, sample_rows

#: Neither size nor interval flushes: nothing but ``snapshot()`` (and ``close()``) stores rows.
BATCH_ROWS, INTERVAL_S = 1_000_000, 3600.0


def _count(client: Client, table: str) -> int:
    return int(client.query(f"SELECT count() FROM {table}").result_rows[0][0])


def _chat(lines: int, skip: int = 0) -> RowBatch:
    privmsgs = [r for r in read_lines([XQCOW]) if " PRIVMSG " in r.line][skip : skip + lines]
    return classify(privmsgs, {})


def test_a_chat_partition_stores_its_rows_at_each_snapshot_before_close(
    warehouse: Client, warehouse_url: str
) -> None:
    database = warehouse.database or ""
    sink = ClickHouseEpochSink(
        lambda: connect(warehouse_url, database),
        partitions=2,
        batch_rows=BATCH_ROWS,
        flush_interval_s=INTERVAL_S,
    )
    assert sink.list_parts() == ["writer-0", "writer-1"]
    part = sink.build_part("chat_out", "writer-1", None)
    try:
        part.write_batch([_chat(120), _chat(80, skip=120)])
        assert _count(warehouse, "chat_messages") == 0  # held by the writer until the epoch ends
        part.snapshot()
        assert _count(warehouse, "chat_messages") == 200

        part.write_batch([_chat(50, skip=200)])
        assert _count(warehouse, "chat_messages") == 200
        part.snapshot()
        assert _count(warehouse, "chat_messages") == 250
    finally:
        part.close()
    assert _count(warehouse, "chat_messages") == 250  # nothing was left for close, nothing doubled


def test_a_streams_partition_stores_its_rows_at_each_snapshot_before_close(
    warehouse: Client, warehouse_url: str
) -> None:
    database = warehouse.database or ""
    sink = StreamsEpochSink(
        lambda: connect(warehouse_url, database), batch_rows=BATCH_ROWS, flush_interval_s=INTERVAL_S
    )
    (name,) = sink.list_parts()
    part = sink.build_part("streams_out", name, None)
    ninja, sandy = sample_rows(recorded(NINJA_PAGE), T0), sample_rows(recorded(SANDY_PAGE), T0)
    try:
        part.write_batch([StreamsBatch(samples=ninja)])
        assert _count(warehouse, "viewer_samples") == 0
        part.snapshot()
        assert _count(warehouse, "viewer_samples") == len(ninja) > 0

        part.write_batch([StreamsBatch(samples=sandy)])
        part.snapshot()
        assert _count(warehouse, "viewer_samples") == len(ninja) + len(sandy)
    finally:
        part.close()
    assert _count(warehouse, "viewer_samples") == len(ninja) + len(sandy)
