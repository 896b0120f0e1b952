"""End-to-end replay throughput: raw IRC lines → bus → Bytewax chat dataflow → chDB.

Not a test: it prints figures. The input is the real #xqcow recording repeated until it holds
``--messages`` lines; each copy gets fresh message ids and timestamps shifted past the previous copy,
so every line is a distinct message (a real replay of a big archive, not a dedup exercise).

Figures printed:
* end-to-end messages/s through the whole embedded pipeline (goal: ≥ 50k/s on one core);
* the reference measured in the same run: inserting the same rows, already parsed, straight into chDB
  (the warehouse's own ceiling), and parsing alone — so the ratios show where the time goes;
* bytes per stored message on disk after merges.

Usage: python bench/replay.py [--messages 500000]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamscope import topics  # noqa: E402
from streamscope.app.runtime import Runtime  # noqa: E402
from streamscope.records import RawLine  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.sinks.clickhouse import WarehouseWriter  # noqa: E402
from streamscope.sources.replay import channel_of, sent_ts  # noqa: E402
from streamscope.twitch.irc.rows import classify  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402

RECORDING = ROOT / "streamscope" / "demo" / "xqcow_2019-09-15.log"
_ID = re.compile(r"(?<=[;@])id=[0-9a-f-]{36}")
_TS = re.compile(r"tmi-sent-ts=(\d+)")


def make_lines(n: int) -> list[RawLine]:
    base = [line for line in RECORDING.read_text(encoding="utf-8").split("\n") if " PRIVMSG " in line]
    stamps = [sent_ts(line) or 0 for line in base]
    span = max(stamps) - min(stamps) + 1000
    out: list[RawLine] = []
    copy = 0
    while len(out) < n:
        shift = copy * span
        for line in base:
            line2 = _ID.sub(lambda _m: f"id={uuid.uuid4()}", line, count=1)
            line2 = _TS.sub(lambda m, s=shift: f"tmi-sent-ts={int(m.group(1)) + s}", line2, count=1)
            ts = sent_ts(line2) or 0
            out.append(RawLine(channel_of(line2), line2, ts, "bench"))
            if len(out) == n:
                break
        copy += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=500_000)
    args = ap.parse_args()
    lines = make_lines(args.messages)
    print(
        f"input: {len(lines):,} PRIVMSG lines ({sum(len(r.line) for r in lines) / len(lines):.0f} bytes avg)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        url = f"chdb://{tmp}"

        t0 = time.perf_counter()
        batches = [classify(lines[i : i + 5000], {}) for i in range(0, len(lines), 5000)]
        parse_s = time.perf_counter() - t0

        ref = connect(url, "reference")
        migrate(ref)
        writer = WarehouseWriter(ref, batch_rows=50_000, flush_interval_s=3600)
        t0 = time.perf_counter()
        for batch in batches:
            writer.add(batch)
        writer.flush()
        insert_s = time.perf_counter() - t0

        client = connect(url, "e2e")
        migrate(client)
        settings = Settings(
            clickhouse_url=url, clickhouse_database="e2e", sink_batch_rows=50_000, sink_flush_interval_s=1.0
        )
        ingest = Runtime.embedded(settings).start_dataflows(["chat"])
        publish = ingest.publisher(topics.IRC_RAW, "bench").publish
        t0 = time.perf_counter()
        for i in range(0, len(lines), 5000):
            publish(lines[i : i + 5000])
        counters = ingest.finish()
        e2e_s = time.perf_counter() - t0
        assert counters.messages == len(lines), counters

        client.command("OPTIMIZE TABLE chat_messages FINAL")
        disk = client.query(
            "SELECT sum(bytes_on_disk), sum(data_compressed_bytes), sum(rows) FROM system.parts "
            "WHERE database = 'e2e' AND table = 'chat_messages' AND active"
        ).result_rows[0]

    n = len(lines)
    print(f"parse only (classify)          : {n / parse_s:>12,.0f} lines/s")
    print(f"insert only (parsed rows→chDB) : {n / insert_s:>12,.0f} rows/s   (reference)")
    print(f"end to end (bus→Bytewax→chDB)  : {n / e2e_s:>12,.0f} messages/s (goal ≥ 50,000)")
    print(f"end-to-end / insert-only ratio : {insert_s / e2e_s:>12.2f}")
    print(
        f"bytes per stored message       : {disk[0] / disk[2]:>12.1f} on disk, "
        f"{disk[1] / disk[2]:.1f} compressed column data (goal ≤ 35)"
    )


if __name__ == "__main__":
    main()
