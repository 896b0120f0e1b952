"""Benchmark: archive export rows/s per format for ~1M messages, and peak memory vs export size.

A temporary chDB directory gets the real xqcow recording (ingested with ``classify``) copied
``--copies`` times (default 203, ~1M messages) with fresh ids and shifted times by INSERT ... SELECT
(ClickHouse copies the rows; its events are copied too, so moderation marks are computed). Then:

* rows/s (messages + events merged in) of :class:`~streamscope.query.archive.ArchiveExport` per
  format into a byte counter (best of ``--runs``): every record is built in Python by the one
  converter of stored rows (the SQL-built fast path is gone: it was not byte-equal to the writers);
  and jsonl/csv without events (``events=False``), the cost of the merge;
* references measured in the same run: ClickHouse reading the same rows into ``FORMAT Null``
  (the ceiling) and chat-downloader-style per-row ``json.dumps`` of a dict per message;
* peak RSS (``ru_maxrss``) of a fresh process exporting 100k rows vs all rows (jsonl and csv), and of
  a process that lists all rows first (``query().result_rows``, what an unstreamed export costs);
  goal: the export's peak independent of size (``--copies`` must give more than 100k messages).

chDB allows one engine directory per process, so every measurement runs in its own subprocess.
Not a test: it prints figures and asserts nothing. Run: ``python bench/export.py [--copies N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script's sys.path starts at bench/

from streamscope.query.archive import ArchiveExport  # noqa: E402
from streamscope.query.archive_query import ArchiveQuery  # noqa: E402
from streamscope.records import RawLine  # noqa: E402
from streamscope.sinks.files import FORMATS  # noqa: E402
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, classify  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402

XQCOW = ROOT / "tests" / "data" / "irc" / "recorded" / "xqcow_2019-09-15.log"
CID = 71092938
DB = "bench_export"
_ALL = "SELECT * FROM chat_messages FINAL WHERE channel_id = 71092938 ORDER BY sent_at, message_id"

_COPY_MESSAGES = """
INSERT INTO chat_messages
SELECT channel_id, channel, sent_at + toIntervalMillisecond(n.number * {span:Int64}),
       generateUUIDv4(n.number), user_id, user_login, display_name, text, is_action, bits, color,
       badges, badge_info, emotes, tag_layout, tags, raw_fallback, received_at, source
FROM chat_messages AS m, numbers(1, {copies:UInt64}) AS n
"""
_COPY_EVENTS = """
INSERT INTO chat_events
SELECT channel_id, channel, at + toIntervalMillisecond(n.number * {span:Int64}), generateUUIDv4(n.number),
       command, kind, user_id, user_login, display_name, target_user_id, target_login, target_message_id,
       duration_s, text, system_message, tags, raw, received_at, source
FROM chat_events AS e, numbers(1, {copies:UInt64}) AS n
"""


def prepare(url: str, copies: int) -> dict[str, int]:
    client = connect(url, DB)
    migrate(client)
    lines = [
        RawLine("xqcow", line, 0, "bench") for line in XQCOW.read_text(encoding="utf-8").split("\n") if line
    ]
    batch = classify(lines, {})
    client.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    client.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))
    lo, hi = client.query(
        "SELECT toUnixTimestamp64Milli(min(sent_at)), toUnixTimestamp64Milli(max(sent_at)) FROM chat_messages"
    ).result_rows[0]
    params = {"span": int(hi) - int(lo) + 1000, "copies": copies - 1}
    client.command(_COPY_MESSAGES, parameters=params)
    client.command(_COPY_EVENTS, parameters=params)
    client.command("OPTIMIZE TABLE chat_messages FINAL")
    rows = int(client.query("SELECT count() FROM chat_messages FINAL").result_rows[0][0])
    events = int(client.query("SELECT count() FROM chat_events FINAL").result_rows[0][0])
    end_100k = client.query(
        "SELECT toUnixTimestamp64Milli(sent_at) FROM chat_messages FINAL ORDER BY sent_at, message_id "
        "LIMIT 1 OFFSET 100000"
    ).result_rows[0][0]
    return {"rows": rows, "events": events, "end_100k": int(end_100k)}


def _export(client, fmt: str, end_ms: int | None = None, events: bool = True) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    query = ArchiveQuery(CID, "xqcow", end_ms=end_ms)
    export = ArchiveExport(client, query, fmt, events=events)
    t = time.perf_counter()
    size = sum(len(chunk) for chunk in export.chunks())
    return export.rows, size, time.perf_counter() - t


def rates(url: str, runs: int) -> dict[str, float]:
    """Seconds per plan (and ``rows <plan>``: the rows it exported), best of ``runs``."""
    client = connect(url, DB, create=False)
    out: dict[str, float] = {}
    plans = [(f, True) for f in FORMATS] + [("jsonl", False), ("csv", False)]
    for fmt, events in plans:
        results = [_export(client, fmt, events=events) for _ in range(runs)]
        name = f"{fmt}{'' if events else ' (no events)'}"
        out[name] = min(r[2] for r in results)
        out[f"rows {name}"] = results[0][0]
    sql = f"{_ALL} FORMAT Null"
    out["ref: ClickHouse SELECT * FORMAT Null"] = min(
        _timed(lambda: client.command(sql)) for _ in range(runs)
    )

    def per_row_dumps() -> None:  # chat-downloader's way: one dict and one json.dumps per message
        with client.query_row_block_stream(_ALL) as stream:
            for block in stream:
                for row in block:
                    json.dumps({"message_id": str(row[3]), "message": row[7], "author": {"name": row[5]}})

    out["ref: per-row json.dumps (chat-downloader style)"] = _timed(per_row_dumps)
    return out


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def rss(url: str, mode: str, fmt: str, end_ms: int | None) -> dict[str, float]:
    client = connect(url, DB, create=False)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # "list": what an unstreamed export would hold (every row as a Python tuple) before writing.
    rows = len(client.query(_ALL).result_rows) if mode == "list" else _export(client, fmt, end_ms)[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "base_mb": base / 1024, "peak_mb": peak / 1024}


def _worker(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=203, help="copies of the 4,933 xqcow messages")
    parser.add_argument("--runs", type=int, default=3, help="best of N per format")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, url, *rest = args.worker
        if kind == "prepare":
            result: dict[str, float] = dict(prepare(url, int(rest[0])))
        elif kind == "rates":
            result = rates(url, int(rest[0]))
        else:
            result = rss(url, rest[0], rest[1], int(rest[2]) if rest[2] != "-" else None)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        url = f"chdb://{tmp}"
        t = time.perf_counter()
        info = _worker("prepare", url, str(args.copies))
        rows = int(info["rows"])
        print(
            f"archive: {rows:,} messages and {int(info['events']):,} events ({args.copies} copies of xqcow) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        timings = _worker("rates", url, str(args.runs))
        ceiling = timings.pop("ref: ClickHouse SELECT * FORMAT Null")
        dumps = timings.pop("ref: per-row json.dumps (chat-downloader style)")
        print(f"reference ClickHouse SELECT * FORMAT Null: {rows / ceiling:>12,.0f} rows/s")
        print(f"reference per-row json.dumps:              {rows / dumps:>12,.0f} rows/s")
        for name, seconds in timings.items():
            if name.startswith("rows "):
                continue
            exported = int(timings[f"rows {name}"])
            rate = exported / seconds
            print(
                f"export {name:<28} {exported:>9,} rows {rate:>10,.0f} rows/s  "
                f"({rate / (rows / dumps):.1f}x per-row dumps, "
                f"{rate / (rows / ceiling):.2f}x ClickHouse Null)"
            )
        for fmt in ("jsonl", "csv"):
            small = _worker("rss", url, "export", fmt, str(int(info["end_100k"])))
            large = _worker("rss", url, "export", fmt, "-")
            print(
                f"peak RSS {fmt}: {int(small['rows']):,} rows {small['peak_mb']:.0f} MB, "
                f"{int(large['rows']):,} rows {large['peak_mb']:.0f} MB "
                f"(ratio {large['peak_mb'] / small['peak_mb']:.2f}; process base {small['base_mb']:.0f} MB)"
            )
        listed = _worker("rss", url, "list", "jsonl", "-")
        print(
            f"reference: listing all {int(listed['rows']):,} rows first: peak RSS {listed['peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
