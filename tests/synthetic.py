"""Synthetic warehouse contents for tests that need volume rather than real chat (made by
ClickHouse itself with INSERT ... SELECT FROM numbers(), so nothing goes through Python)."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

BIG_CHANNEL_ID = 7
BIG_MESSAGES = 300_000
BIG_TIMEOUTS = 3000


def insert_big_channel(client: Client) -> None:
    """Channel 7 ``big``: :data:`BIG_MESSAGES` messages 10 ms apart from 2019-09-15T00:00:00Z by 1,000
    users, and :data:`BIG_TIMEOUTS` timeouts, one every second at .005 s, each of a user who wrote."""
    client.command(
        "INSERT INTO chat_messages (channel_id, channel, sent_at, message_id, user_id, user_login, "
        "display_name, text, is_action, bits, tag_layout, received_at, source) "
        "SELECT 7, 'big', fromUnixTimestamp64Milli(toInt64(1568505600000 + number * 10), 'UTC'), "
        "generateUUIDv4(), number % 1000 + 1, concat('u', toString(number % 1000)), '', "
        "concat('message ', toString(number)), false, 0, '', now64(3), 'bench' FROM numbers(300000)"
    )
    client.command(
        "INSERT INTO chat_events (channel_id, channel, at, event_id, command, kind, target_user_id, "
        "target_login, duration_s, raw, received_at, source) "
        "SELECT 7, 'big', fromUnixTimestamp64Milli(toInt64(1568505600005 + number * 1000), 'UTC'), "
        "generateUUIDv4(), 'CLEARCHAT', 'timeout', number % 1000 + 1, concat('u', toString(number % 1000)), "
        "10, '', now64(3), 'bench' FROM numbers(3000)"
    )
    client.command("INSERT INTO channels VALUES (7, 'big', now64(3), now64(3))")
