"""The process's shared warehouse handle: a long stream on :meth:`Warehouse.stream_client` does not
hold up the other queries (with chDB it runs on a handle of its own)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.warehouse.shared import Warehouse


def test_a_stream_does_not_hold_up_other_queries(warehouse: Client) -> None:
    """With chDB a stream runs on a handle of its own: the shared client answers while the stream's
    query is still open, and the stream then reads on to its end."""
    if not warehouse.uri.startswith("chdb://"):
        pytest.skip("a ClickHouse server client is shared and held by design")
    warehouse.command("CREATE TABLE numbers_copy (n UInt64) ENGINE = MergeTree ORDER BY n")
    warehouse.command("INSERT INTO numbers_copy SELECT number FROM numbers(100000)")
    shared = Warehouse(warehouse)
    with shared.stream_client() as client, ThreadPoolExecutor(1) as pool:
        assert client is not warehouse
        sql = "SELECT n FROM numbers_copy ORDER BY n"
        with client.query_row_block_stream(sql, settings={"max_block_size": 1000}) as stream:
            blocks = iter(stream)
            first = next(blocks)  # the stream is open now
            other = pool.submit(shared.rows, "SELECT count() FROM numbers_copy")
            assert other.result(timeout=60)[0][0] == 100000
            rest = [row for block in blocks for row in block]
    assert [n for (n,) in first + rest] == list(range(100000))
