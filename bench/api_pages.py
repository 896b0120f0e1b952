"""Benchmark: first vs ~1M-deep page of /v1.0/{id}/chat, and bytes per stored message.

Builds a 10M-message table for one channel in a temporary chDB directory with INSERT ... SELECT
FROM numbers() (ClickHouse generates the rows; nothing goes through Python), then times a
100-message page through the ASGI app (TestClient) at the start and at row 1,000,000 (cursor
encoded directly from that row's (sent_at, message_id)), median of RUNS runs each. Also prints the
on-disk bytes per message (compressed parts, after OPTIMIZE FINAL) for the real xqcow recording
ingested with ``classify`` and for the synthetic table. Not a test: it prints figures, it asserts
nothing. Run: ``python bench/api_pages.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A script's sys.path starts at bench/; make the checkout's packages importable without an install.
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from streamscope.api import create_app  # noqa: E402
from streamscope.query import cursor as cursors  # noqa: E402
from streamscope.records import RawLine  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.twitch.irc.rows import MESSAGE_COLUMNS, classify  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402

XQCOW = ROOT / "tests" / "data" / "irc" / "recorded" / "xqcow_2019-09-15.log"
CHANNEL_ID = 71092938
T0_MS = 1568505600000  # 2019-09-15T00:00:00Z
RUNS = 21

# One channel, ~12 messages/s (a busy channel's average), ~50k distinct chatters with
# realistic-looking logins, badges, colours, texts, and Twitch's wire tags in the Map column.
SYNTH_INSERT = """
INSERT INTO chat_messages
SELECT
    {cid:UInt64} AS channel_id,
    'xqcow' AS channel,
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + number * 83 + (cityHash64(number) % 83)), 'UTC') AS sent_at,
    generateUUIDv4(number) AS message_id,
    10000000 + (cityHash64(number, 1) % 50000) AS user_id,
    concat('viewer_', toString(cityHash64(number, 1) % 50000)) AS user_login,
    concat('Viewer_', toString(cityHash64(number, 1) % 50000)) AS display_name,
    arrayStringConcat(
        arrayMap(i -> ['LUL', 'xqcL', 'OMEGALUL', 'Pog', 'what', 'is', 'this', 'chat', 'gachiBASS',
                       'KEKW', 'monkaS', 'true', 'no', 'way', 'W', 'L', 'Clap', 'PepeLaugh'][
                       1 + cityHash64(number, i) % 18],
                 range(1 + cityHash64(number, 2) % 12)),
        ' ') AS text,
    cityHash64(number, 3) % 50 = 0 AS is_action,
    if(cityHash64(number, 4) % 500 = 0, 100, 0) AS bits,
    ['#FF0000', '#00FF7F', '#1E90FF', '', '#8A2BE2', '#DAA520'][1 + cityHash64(number, 1) % 6] AS color,
    ['', 'subscriber/12', 'subscriber/3,premium/1', 'moderator/1,subscriber/24', 'vip/1'][
        1 + cityHash64(number, 1) % 5] AS badges,
    ['', 'subscriber/14', 'subscriber/3', 'subscriber/26', ''][1 + cityHash64(number, 1) % 5] AS badge_info,
    if(cityHash64(number, 5) % 4 = 0, '25:0-4', '') AS emotes,
    '=badge-info,=badges,=color,=display-name,=emotes,flags,=id,mod,=room-id,subscriber,=tmi-sent-ts,turbo,=user-id,user-type'
        AS tag_layout,
    map('flags', '', 'mod', toString(cityHash64(number, 1) % 5 = 3), 'subscriber', '1', 'turbo', '0',
        'user-type', '') AS tags,
    '' AS raw_fallback,
    sent_at AS received_at,
    'bench' AS source
FROM numbers({n:UInt64})
"""


def bytes_per_message(client) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    client.command("OPTIMIZE TABLE chat_messages FINAL")
    rows = client.query("SELECT count() FROM chat_messages").result_rows[0][0]
    size = client.query(
        "SELECT sum(data_compressed_bytes) FROM system.parts "
        "WHERE database = currentDatabase() AND table = 'chat_messages' AND active"
    ).result_rows[0][0]
    return int(size), int(rows), size / rows


def median_ms(client: TestClient, params: dict[str, object]) -> float:
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        r = client.get(f"/v1.0/{CHANNEL_ID}/chat", params=params)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and len(r.json()["messages"]) == 100, r.text[:300]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="synthetic messages (default 10M)")
    parser.add_argument("--deep", type=int, default=1_000_000, help="row index of the deep page")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="streamscope-bench-") as tmp:
        base = connect(f"chdb://{tmp}", "bench_xqcow")
        migrate(base)
        lines = [ln for ln in XQCOW.read_text(encoding="utf-8").split("\n") if ln]
        batch = classify([RawLine("xqcow", ln, 0, "bench") for ln in lines], {})
        base.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
        size, rows, per = bytes_per_message(base)
        print(f"xqcow recording: {rows} messages, {size} bytes compressed, {per:.1f} bytes/message")

        client = connect(f"chdb://{tmp}", "bench_synth")
        migrate(client)
        t = time.perf_counter()
        client.command(SYNTH_INSERT, parameters={"cid": CHANNEL_ID, "t0": T0_MS, "n": args.rows})
        client.command(
            "INSERT INTO channels VALUES ({cid:UInt64}, 'xqcow', now64(3), now64(3))",
            parameters={"cid": CHANNEL_ID},
        )
        print(f"synthetic: {args.rows} rows generated in {time.perf_counter() - t:.1f} s")
        size, rows, per = bytes_per_message(client)
        print(f"synthetic table: {rows} messages, {size} bytes compressed, {per:.1f} bytes/message")

        ts_ms, mid = client.query(
            "SELECT toUnixTimestamp64Milli(sent_at), toString(message_id) FROM chat_messages "
            "ORDER BY sent_at, message_id LIMIT 1 OFFSET {k:UInt64}",
            parameters={"k": args.deep - 1},
        ).result_rows[0]
        deep_cursor = cursors.encode("messages", ts_ms, mid)
        window = {"start": "2019-09-15T00:00:00Z", "end": "2030-01-01T00:00:00Z", "limit": 100}
        with TestClient(create_app(Settings(), client=client)) as api:
            median_ms(api, window)  # warm-up: marks, caches, first-request overhead
            first = median_ms(api, window)
            deep = median_ms(api, {**window, "after": deep_cursor})
            check = api.get(f"/v1.0/{CHANNEL_ID}/chat", params={**window, "after": deep_cursor}).json()
        assert check["messages"][0]["timestamp"] >= ts_ms
        print(f"page of 100, first page:          median {first:.1f} ms over {RUNS} runs")
        print(f"page of 100, after row {args.deep:,}: median {deep:.1f} ms over {RUNS} runs")
        print(f"deep / first = {deep / first:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
