"""The process's shared warehouse handle: with chDB, reads run at once on a small pool of clients of
their own, and a long stream on :meth:`Warehouse.stream_client` does not hold up the other queries
(it runs on a handle of its own)."""

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


def test_reads_run_on_clients_of_their_own(warehouse: Client) -> None:
    """With chDB a read runs on one of the pool's clients, on the given client's database: it goes
    on while the given client is held (say, by an insert) and while another read holds its client."""
    if not warehouse.uri.startswith("chdb://"):
        pytest.skip("a ClickHouse server client takes one query at a time: reads are serialised")
    warehouse.command("CREATE TABLE numbers_copy (n UInt64) ENGINE = MergeTree ORDER BY n")
    warehouse.command("INSERT INTO numbers_copy SELECT number FROM numbers(1000)")
    shared = Warehouse(warehouse, readers=2)
    with shared.exclusive(), shared.reader() as held, ThreadPoolExecutor(1) as pool:
        assert held is not warehouse
        other = pool.submit(shared.rows, "SELECT count() FROM numbers_copy")
        assert other.result(timeout=60) == [(1000,)]


def test_at_most_readers_clients_then_reads_wait(warehouse: Client) -> None:
    """A read beyond ``readers`` concurrent ones waits for a client to come back, then runs on it."""
    if not warehouse.uri.startswith("chdb://"):
        pytest.skip("no pool with a ClickHouse server")
    shared = Warehouse(warehouse, readers=1)
    with ThreadPoolExecutor(1) as pool:
        with shared.reader() as only:
            waiting = pool.submit(shared.rows, "SELECT 1")
            with pytest.raises(TimeoutError):
                waiting.result(timeout=0.5)
        assert waiting.result(timeout=60) == [(1,)]
        with shared.reader() as again:
            assert again is only  # kept for the next read, not reopened
    shared.close()


def test_both_returns_both_results_and_raises_either_error(warehouse: Client) -> None:
    shared = Warehouse(warehouse)
    one, two = shared.both(lambda: shared.rows("SELECT 1"), lambda: shared.rows("SELECT 'two'"))
    assert (one, two) == ([(1,)], [("two",)])
    with pytest.raises(Exception, match="UNKNOWN_TABLE|does not exist"):
        shared.both(lambda: shared.rows("SELECT 1"), lambda: shared.rows("SELECT * FROM no_such_table"))
    with pytest.raises(Exception, match="UNKNOWN_TABLE|does not exist"):
        shared.both(lambda: shared.rows("SELECT * FROM no_such_table"), lambda: shared.rows("SELECT 1"))
