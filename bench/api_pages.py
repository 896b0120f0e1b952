"""Benchmark: a /v1.0/{id}/chat page against the bare chDB query it runs, first vs deep, 1 vs 16 clients.

Builds a synthetic table for one channel (10M messages by default, plus a timeout or ban for one
message in 500) in a temporary chDB directory with INSERT ... SELECT FROM numbers() (ClickHouse
generates the rows; nothing goes through Python), then serves the app with uvicorn on a loopback
port and measures, each over ``--rounds`` rounds (medians reported):

* reference: the bare chDB query of a 100-message page (``chat_messages FINAL``, keyset, LIMIT 101),
  on a chDB connection of its own in Native format, no Python conversion: first and deep page;
* concurrency 1: one httpx client, the same page ``--runs`` times each: first page (limit=100),
  limit=1, and the page after row ``--deep`` (cursor encoded from that row), and page / bare;
* concurrency 16: 16 threads with an httpx client each (in a separate process, so the load
  generator does not share the server's GIL), each walking cursors from its own start row,
  ``--requests`` pages in all: pages/s, p50 and p99 latency; and, as a ceiling, the bare query
  from 16 threads on 4 chDB connections. Also the CPU time of this (the serving) process per page,
  and per bare query: on a shared machine wall-clock figures move with the other processes' load,
  CPU time much less.

Also prints the on-disk bytes per message (compressed parts, after OPTIMIZE FINAL) for the real
xqcow recording ingested with ``classify`` and for the synthetic table. Not a test: it prints
figures, it asserts nothing. Run: ``python bench/api_pages.py [--rows N] [--deep K]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# A script's sys.path starts at bench/; make the checkout's packages importable without an install.
sys.path.insert(0, str(ROOT))

XQCOW = ROOT / "tests" / "data" / "irc" / "recorded" / "xqcow_2019-09-15.log"
CHANNEL_ID = 71092938
T0_MS = 1568505600000  # 2019-09-15T00:00:00Z
PATH = f"/v1.0/{CHANNEL_ID}/chat"
WINDOW = {"start": "2019-09-15T00:00:00Z", "end": "2030-01-01T00:00:00Z"}

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

# One CLEARCHAT per 500 messages, 2 s after the message, on its author: 9 timeouts to 1 ban.
SYNTH_MODERATION = """
INSERT INTO chat_events (channel_id, channel, at, event_id, command, kind, target_user_id,
                         target_login, duration_s, received_at, source)
SELECT
    {cid:UInt64},
    'xqcow',
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + m * 83 + (cityHash64(m) % 83) + 2000), 'UTC') AS at,
    generateUUIDv4(number),
    'CLEARCHAT',
    if(number % 10 = 0, 'ban', 'timeout'),
    10000000 + (cityHash64(m, 1) % 50000),
    concat('viewer_', toString(cityHash64(m, 1) % 50000)),
    if(number % 10 = 0, 0, 600),
    at,
    'bench'
FROM (SELECT number, number * 500 + 250 AS m FROM numbers(intDiv({n:UInt64}, 500)))
"""

# The reference: the page's message query as the reader ran it before this benchmark's figures
# were first taken (every column of the row, FINAL, keyset on (sent_at, message_id), LIMIT n+1).
BARE_COLUMNS = (
    "channel_id, channel, toUnixTimestamp64Milli(sent_at) AS sent_ms, toString(message_id) AS message_uuid, "
    "user_id, user_login, display_name, text, is_action, bits, color, badges, badge_info, emotes, "
    "tag_layout, tags, raw_fallback, toUnixTimestamp64Milli(received_at) AS received_ms, source"
)
BARE_WHERE = (
    "channel_id = {cid:UInt64} AND sent_at >= fromUnixTimestamp64Milli({start:Int64}, 'UTC') "
    "AND sent_at < fromUnixTimestamp64Milli({end:Int64}, 'UTC')"
)
BARE_AFTER = (
    " AND sent_at >= fromUnixTimestamp64Milli({after_ts:Int64}, 'UTC') AND "
    "(sent_at > fromUnixTimestamp64Milli({after_ts:Int64}, 'UTC') OR message_id > {after_id:UUID})"
)
BARE_ORDER = " ORDER BY sent_at, message_id LIMIT {n:UInt32}"


def bytes_per_message(client) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    client.command("OPTIMIZE TABLE chat_messages FINAL")
    rows = client.query("SELECT count() FROM chat_messages").result_rows[0][0]
    size = client.query(
        "SELECT sum(data_compressed_bytes) FROM system.parts "
        "WHERE database = currentDatabase() AND table = 'chat_messages' AND active"
    ).result_rows[0][0]
    return int(size), int(rows), size / rows


# --- the load generator (run in a process of its own) -------------------------------------------


def _load(url: str, threads: int, per_thread: int, starts: list[dict[str, Any]], follow: bool) -> dict:
    """``threads`` httpx clients, ``per_thread`` GETs each (after 3 unrecorded warm-up GETs); with
    ``follow`` each thread goes on with the page's cursor, else it repeats its start page."""
    import httpx
    import orjson

    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []

    def run(i: int) -> None:
        start = starts[i % len(starts)]
        params = start
        with httpx.Client(base_url=url, timeout=120) as client:
            for k in range(3 + per_thread):
                if k == 3:
                    try:
                        barrier.wait()
                    except threading.BrokenBarrierError:
                        return
                t = time.perf_counter()
                r = client.get(PATH, params=params)
                elapsed = (time.perf_counter() - t) * 1000
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                    barrier.abort()  # nobody waits for this thread at the start line
                    return
                page = orjson.loads(r.content)
                if len(page["messages"]) != int(start["limit"]):
                    failures.append(f"{len(page['messages'])} messages, wanted {start['limit']}")
                if k >= 3:
                    latencies[i].append(elapsed)
                if follow:
                    params = {**start, "after": page["cursor"]} if page["cursor"] else start

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a warm-up failed: see the failures
        barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    return {"latencies": [x for lat in latencies for x in lat], "wall_s": wall, "failures": failures[:5]}


def load(url: str, threads: int, per_thread: int, starts: list[dict[str, Any]], follow: bool) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--load", json.dumps([url, threads, per_thread, starts, follow])],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    if result["failures"]:
        raise SystemExit(f"bad responses: {result['failures']}")
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the server and the reference ---------------------------------------------------------------


def serve(app: Any) -> tuple[Any, threading.Thread, str]:
    """``app`` on uvicorn in a thread of this process (the one that owns the chDB directory), on a
    free loopback port that uvicorn binds itself, as ``streamscope serve`` does. (A socket made here
    and handed over would lack IPPROTO_TCP, so asyncio would leave Nagle on: +40 ms on small pages.)"""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def bare_ms(conn: Any, sql: str, params: dict[str, str], runs: int) -> float:
    """Median ms of ``sql`` on a raw chDB connection, result as Native bytes (no conversion)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        conn.query(sql, "Native", params=params)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bare_throughput(path: str, database: str, sql: str, params: dict[str, str], total: int) -> float:
    """Bare queries/s from 16 threads sharing 4 chDB connections (one query at a time each)."""
    import chdb

    conns = [chdb.connect(path) for _ in range(4)]
    locks = [threading.Lock() for _ in conns]
    for conn in conns:
        conn.query(f"USE {database}")

    def one(i: int) -> None:
        with locks[i % 4]:
            conns[i % 4].query(sql, "Native", params=params)

    with ThreadPoolExecutor(16) as pool:
        t = time.perf_counter()
        list(pool.map(one, range(total)))
        rate = total / (time.perf_counter() - t)
    for conn in conns:
        conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="synthetic messages (default 10M)")
    parser.add_argument("--deep", type=int, default=1_000_000, help="row index of the deep page")
    parser.add_argument("--runs", type=int, default=21, help="requests per figure at concurrency 1")
    parser.add_argument("--requests", type=int, default=640, help="pages per round at concurrency 16")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(_load(*json.loads(args.load))))
        return

    import chdb

    from streamscope.api import create_app
    from streamscope.query import cursor as cursors
    from streamscope.records import RawLine
    from streamscope.settings import Settings
    from streamscope.twitch.irc.rows import MESSAGE_COLUMNS, classify
    from streamscope.warehouse import connect, migrate

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
        synth = {"cid": CHANNEL_ID, "t0": T0_MS, "n": args.rows}
        client.command(SYNTH_INSERT, parameters=synth)
        client.command(SYNTH_MODERATION, parameters=synth)
        client.command(
            "INSERT INTO channels VALUES ({cid:UInt64}, 'xqcow', now64(3), now64(3))",
            parameters={"cid": CHANNEL_ID},
        )
        client.command("OPTIMIZE TABLE chat_events FINAL")
        print(f"synthetic: {args.rows} rows generated in {time.perf_counter() - t:.1f} s")
        size, rows, per = bytes_per_message(client)
        print(f"synthetic table: {rows} messages, {size} bytes compressed, {per:.1f} bytes/message")

        def position(k: int) -> tuple[int, str]:
            ts_ms, mid = client.query(
                "SELECT toUnixTimestamp64Milli(sent_at), toString(message_id) FROM chat_messages "
                "ORDER BY sent_at, message_id LIMIT 1 OFFSET {k:UInt64}",
                parameters={"k": k},
            ).result_rows[0]
            return int(ts_ms), str(mid)

        deep_ts, deep_id = position(args.deep - 1)
        deep_cursor = cursors.encode("messages", deep_ts, deep_id)
        first = {**WINDOW, "limit": 100}
        one = {**WINDOW, "limit": 1}
        deep = {**first, "after": deep_cursor}
        # Each of the 16 clients walks its own stretch of the table, a cursor chain at a time.
        starts = [first] + [
            {**first, "after": cursors.encode("messages", *position(i * (args.rows // 16)))}
            for i in range(1, 16)
        ]

        bare_params = {"cid": str(CHANNEL_ID), "start": str(T0_MS), "end": "1893456000000", "n": "101"}
        bare_first = "SELECT " + BARE_COLUMNS + " FROM chat_messages FINAL WHERE " + BARE_WHERE + BARE_ORDER
        bare_deep = bare_first.replace(BARE_ORDER, BARE_AFTER + BARE_ORDER)
        deep_params = {**bare_params, "after_ts": str(deep_ts), "after_id": deep_id}
        conn = chdb.connect(str(Path(tmp).resolve()))
        conn.query("USE bench_synth")

        server, thread, url = serve(create_app(Settings(), client=client))
        figures: dict[str, list[float]] = {}

        def note(name: str, value: float) -> None:
            figures.setdefault(name, []).append(value)

        def page_ms(params: dict[str, Any]) -> float:
            return statistics.median(load(url, 1, args.runs, [params], follow=False)["latencies"])

        try:
            for r in range(args.rounds):
                note("bare first", bare_ms(conn, bare_first, bare_params, args.runs))
                note("bare deep", bare_ms(conn, bare_deep, deep_params, args.runs))
                note("page first", page_ms(first))
                note("page limit=1", page_ms(one))
                note("page deep", page_ms(deep))
                cpu = time.process_time()
                result = load(url, 16, args.requests // 16, starts, follow=True)
                served = len(result["latencies"]) + 16 * 3  # and the warm-up GETs
                note("c16 cpu ms/page", (time.process_time() - cpu) * 1000 / served)
                note("c16 pages/s", len(result["latencies"]) / result["wall_s"])
                note("c16 p50", percentile(result["latencies"], 0.50))
                note("c16 p99", percentile(result["latencies"], 0.99))
                cpu = time.process_time()
                note(
                    "bare c16 queries/s",
                    bare_throughput(
                        str(Path(tmp).resolve()), "bench_synth", bare_first, bare_params, args.requests
                    ),
                )
                note("bare c16 cpu ms/query", (time.process_time() - cpu) * 1000 / args.requests)
                print(
                    f"round {r + 1}/{args.rounds}: "
                    + ", ".join(f"{k} {v[-1]:.1f}" for k, v in figures.items())
                )
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            conn.close()

        m = {k: statistics.median(v) for k, v in figures.items()}
        bare, bare_deep_ms = m["bare first"], m["bare deep"]
        print(
            f"\nmedians over {args.rounds} rounds, {args.rows:,} rows, {args.runs} requests per page figure"
        )
        print(f"reference: bare chDB query, first page of 100:   {bare:.1f} ms")
        print(f"reference: bare chDB query, after row {args.deep:,}: {bare_deep_ms:.1f} ms")
        for name, label, ref in (
            ("page first", "page of 100, first page:", bare),
            ("page limit=1", "page of 1 (limit=1):", bare),
            ("page deep", f"page of 100, after row {args.deep:,}:", bare_deep_ms),
        ):
            print(f"{label:<36} {m[name]:6.1f} ms  page / bare = {m[name] / ref:.2f} (goal <= 2)")
        print(f"deep / first = {m['page deep'] / m['page first']:.2f} (goal <= 1.5)")
        print(
            f"16 clients: {m['c16 pages/s']:.0f} pages/s (goal >= 150), p50 {m['c16 p50']:.0f} ms, "
            f"p99 {m['c16 p99']:.0f} ms; bare query from 16 threads on 4 connections: "
            f"{m['bare c16 queries/s']:.0f} queries/s"
        )
        # The load generator runs in a process of its own, so this process's CPU is the server's (all
        # its threads, chDB's included). Unlike wall-clock figures, it hardly depends on what else
        # the machine runs.
        print(
            f"16 clients, CPU of the serving process: {m['c16 cpu ms/page']:.1f} ms per page; bare query "
            f"from 16 threads: {m['bare c16 cpu ms/query']:.1f} ms per query "
            f"(page / bare = {m['c16 cpu ms/page'] / m['bare c16 cpu ms/query']:.2f})"
        )


if __name__ == "__main__":
    main()
