"""Benchmark: the stats dataflow against the chat dataflow in the same run, and how soon a closed
window is readable.

1. Throughput: ``--copies`` copies of the real #xqcow recording (5,000 lines each, re-timed one
   after the other and given fresh ids, so every copy is new chat) are published on the in-process
   bus to the chat and stats dataflows running together (embedded mode, one chDB). Each dataflow's
   messages/s is the message count over the time until that dataflow finished (the stats dataflow
   finishes last by design: a window is computed only after the chat writer stored its lines).
   Reference in the same run: the chat dataflow alone on a fresh warehouse.
2. Delay: live chat is simulated for ``--live-s`` seconds (lines stamped with the wall clock,
   ``--rate`` messages/s); for each 10 s and 60 s window the time from its end to its chat_stats
   row being readable (polled every 50 ms) is recorded. Reference: the configured lateness.

Not a test: it prints figures, it asserts nothing. Run: ``python bench/stats.py [--copies N]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamscope import topics  # noqa: E402
from streamscope.app.runtime import Runtime  # noqa: E402
from streamscope.records import RawLine  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402

XQCOW = ROOT / "tests" / "data" / "irc" / "recorded" / "xqcow_2019-09-15.log"
SPAN_MS = 470_000
_TS = re.compile(r"tmi-sent-ts=(\d+)")
_ID = re.compile(r"(^@|;)id=[0-9a-f-]+")


def copies(n: int) -> list[RawLine]:
    lines = [line for line in XQCOW.read_text(encoding="utf-8").split("\n") if line]
    out = []
    for k in range(n):
        for i, line in enumerate(lines):
            ts = int(_TS.search(line).group(1)) + k * SPAN_MS  # type: ignore[union-attr]
            shifted = _TS.sub(f"tmi-sent-ts={ts}", line, count=1)
            if k:
                shifted = _ID.sub(f"\\g<1>id={uuid.uuid5(uuid.NAMESPACE_OID, f'{k}-{i}')}", shifted, count=1)
            out.append(RawLine("xqcow", shifted, 0, "bench"))
    return out


def runtime(url: str, database: str) -> Runtime:
    return Runtime.embedded(
        Settings(
            clickhouse_url=url, clickhouse_database=database, sink_batch_rows=5000, snapshot_interval_s=10
        )
    )


def timed_run(url: str, database: str, names: list[str], records: list[RawLine]) -> dict[str, float]:
    client = connect(url, database)
    migrate(client)
    rt = runtime(url, database).start_dataflows(names)
    publisher = rt.publisher(topics.IRC_RAW, "bench")
    started = time.perf_counter()
    for i in range(0, len(records), 5000):
        publisher.publish(records[i : i + 5000])
    rt.transport.stop()
    done: dict[str, float] = {}
    threads = list(rt._dataflows)  # noqa: SLF001 - per-dataflow end times are what is measured
    while len(done) < len(threads):
        for t in threads:
            if t.name not in done and not t.alive():
                done[t.name] = time.perf_counter() - started
        time.sleep(0.01)
    rt.finish()
    client.close()
    return done


def live_delays(url: str, live_s: float, rate: float) -> tuple[list[float], list[float]]:
    database = "bench_live"
    client = connect(url, database)
    migrate(client)
    rt = runtime(url, database).start_dataflows(["chat", "stats"])
    publisher = rt.publisher(topics.IRC_RAW, "bench")
    seen: dict[tuple[int, int], float] = {}
    stop = threading.Event()

    def poll() -> None:
        reader = connect(url, database)
        while not stop.is_set():
            for step, at in reader.query(
                "SELECT step_s, toUnixTimestamp64Milli(at) FROM chat_stats WHERE channel_id = 1"
            ).result_rows:
                seen.setdefault((int(step), int(at)), time.time())
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    begin = time.time()
    n = 0
    while time.time() - begin < live_s:
        now = int(time.time() * 1000)
        line = (
            f"@id={uuid.uuid4()};room-id=1;tmi-sent-ts={now};user-id={n % 300 + 1} "
            f":u{n % 300}!u{n % 300}@u{n % 300}.tmi.twitch.tv PRIVMSG #live :message {n} Kappa"
        )
        publisher.publish([RawLine("live", line, now, "bench")])
        n += 1
        time.sleep(1 / rate)
    time.sleep(5)
    stop.set()
    poller.join()
    rt.finish()
    delays: dict[int, list[float]] = {10: [], 60: []}
    end_of_chat = time.time() - 5
    for (step, at), t in seen.items():
        end = (at + step * 1000) / 1000
        if end <= end_of_chat:  # a window that closed while chat flowed (not at shutdown)
            delays[step].append(t - end)
    return delays[10], delays[60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="copies of the 5,000-line recording")
    parser.add_argument("--live-s", type=float, default=75.0, help="seconds of simulated live chat")
    parser.add_argument("--rate", type=float, default=50.0, help="live messages per second")
    args = parser.parse_args()
    records = copies(args.copies)
    messages = sum(" PRIVMSG " in r.line for r in records)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"chdb://{tmp}/warehouse"
        alone = timed_run(url, "bench_chat", ["chat"], records)
        both = timed_run(url, "bench_both", ["chat", "stats"], records)
        print(f"{len(records)} lines, {messages} messages ({args.copies} re-timed copies of #xqcow)")
        print(f"reference: chat dataflow alone      {messages / alone['chat']:>10,.0f} messages/s")
        print(f"same run:  chat dataflow            {messages / both['chat']:>10,.0f} messages/s")
        print(
            f"same run:  stats dataflow           {messages / both['stats']:>10,.0f} messages/s "
            f"(stats / chat = {both['chat'] / both['stats']:.2f})"
        )
        ten, sixty = live_delays(url, args.live_s, args.rate)
        for name, values in (("10 s", ten), ("60 s", sixty)):
            if values:
                print(
                    f"window close -> row readable, {name} windows (n={len(values)}): median "
                    f"{statistics.median(values):.2f} s, max {max(values):.2f} s (lateness setting 1.0 s)"
                )


if __name__ == "__main__":
    main()
