"""The schema: migrations are idempotent and recorded; the hot reads touch few granules.

Index use is checked with ClickHouse's own ``EXPLAIN indexes = 1`` on a million-row channel, with
FINAL as every read of the API uses it.
"""

from __future__ import annotations

import re

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.warehouse import connect, migrate
from streamscope.warehouse.migrate import available

ROWS = 1_000_000
USERS = 50_000  # each user wrote ROWS / USERS = 20 messages spread over the whole channel


def granules(client: Client, sql: str) -> tuple[int, int]:
    """(granules read, granules in the table) for ``sql``, from EXPLAIN's final selection."""
    plan = "\n".join(r[0] for r in client.query("EXPLAIN indexes = 1 " + sql).result_rows)
    read = int(re.search(r"Parts: \d+ \| Granules: (\d+)", plan).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"Granules: \d+/(\d+)", plan).group(1))  # type: ignore[union-attr]
    return read, total


@pytest.fixture(scope="module")
def big_channel(warehouse_url: str) -> Client:
    client = connect(warehouse_url, "t_schema_big")
    migrate(client)
    client.command("TRUNCATE TABLE chat_messages")
    client.command(
        f"""INSERT INTO chat_messages (channel_id, channel, sent_at, message_id, user_id, user_login, text)
        SELECT 1, 'chan', toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 10),
               generateUUIDv4(), number % {USERS} + 1, concat('user', toString(number % {USERS} + 1)),
               concat('hello world ', toString(number))
        FROM numbers({ROWS})"""
    )
    client.command("OPTIMIZE TABLE chat_messages FINAL")
    yield client
    client.command("DROP DATABASE IF EXISTS t_schema_big")


def test_migrations_are_recorded_and_idempotent(warehouse: Client) -> None:
    versions = {m.version for m in available()}
    recorded = {int(r[0]) for r in warehouse.query("SELECT version FROM schema_migrations").result_rows}
    assert recorded == versions
    assert migrate(warehouse) == []
    assert warehouse.query("SELECT count() FROM schema_migrations").result_rows[0][0] == len(versions)


def test_channel_time_range_reads_only_its_granules(big_channel: Client) -> None:
    read, total = granules(
        big_channel,
        "SELECT * FROM chat_messages FINAL WHERE channel_id = 1 "
        "AND sent_at >= toDateTime64('2024-01-01 01:00:00', 3, 'UTC') "
        "AND sent_at < toDateTime64('2024-01-01 01:05:00', 3, 'UTC')",
    )
    assert total >= ROWS // 8192
    assert read <= 0.05 * total


@pytest.mark.parametrize("column,value", [("user_id", "777"), ("user_login", "'user777'")])
def test_user_in_channel_reads_skip_most_granules(big_channel: Client, column: str, value: str) -> None:
    read, total = granules(
        big_channel, f"SELECT * FROM chat_messages FINAL WHERE channel_id = 1 AND {column} = {value}"
    )
    # 20 messages in 20 granules; FINAL widens the read to neighbouring key ranges, still far from all.
    assert read <= total // 2
