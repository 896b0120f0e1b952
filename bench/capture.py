"""Capture-job overhead versus the plain archive path, on the same recorded chat.

Not a test: it prints figures. The input is the real #xqcow recording's PRIVMSGs repeated until it
holds ``--messages`` lines, each copy with fresh message ids and shifted timestamps (so nothing is a
duplicate). The same lines go:

* through a capture job (``POST /download``'s :class:`~streamscope.capture.JobManager`): the
  loopback Twitch IRC server sends them over a real WebSocket to the job's IRC source, which
  writes them to a file - once per capture format;
* through the archive path, as ``streamscope replay`` does: a recording file read by the replay
  source into the embedded bus, the Bytewax chat dataflow and chDB (the reference).

Printed: messages/s of each, and capture/replay ratios measured in the same run. The capture
figure includes the WebSocket hop the replay does not have, so it is an upper bound of the
job's own overhead.

Usage: python bench/capture.py [--messages 100000] [--formats jsonl,csv]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import replay as replay_bench  # noqa: E402

from streamscope import topics  # noqa: E402
from streamscope.app.runtime import Runtime  # noqa: E402
from streamscope.capture import JobManager  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.sources.replay import replay  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402
from tests.fixtures.twitch_irc_server import TwitchIrcServer  # noqa: E402


def make_lines(n: int) -> list[str]:
    """``n`` distinct PRIVMSG lines: the #xqcow recording repeated with fresh ids (bench/replay.py)."""
    return [r.line for r in replay_bench.make_lines(n)]


async def capture_rate(lines: list[str], fmt: str, tmp: Path) -> tuple[float, int]:
    """Messages/s of one capture job of ``lines`` (first line sent → job finished), and file bytes."""
    async with TwitchIrcServer() as server:
        settings = Settings(jobs_dir=str(tmp / f"jobs-{fmt}"), twitch_irc_url=server.url)
        manager = JobManager.from_settings(settings)
        try:
            job = manager.submit("https://www.twitch.tv/xqcow", fmt, max_messages=len(lines))
            await server.wait_joined(["xqcow"], timeout_s=60)
            started = time.perf_counter()
            await server.play(lines, lines_per_frame=100)
            while (current := manager.get(job.id)) is not None and current.status == "running":
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
        finally:
            await asyncio.to_thread(manager.stop)
    assert current is not None and current.status == "finished", current
    assert current.messages == len(lines), current
    return len(lines) / elapsed, current.bytes


def replay_rate(lines: list[str], tmp: Path) -> float:
    """Messages/s of ``streamscope replay``'s path: file → replay source → bus → dataflow → chDB."""
    recording = tmp / "recording.log"
    recording.write_text("\n".join(lines) + "\n", encoding="utf-8")
    url = f"chdb://{tmp / 'warehouse'}"
    migrate(connect(url, "bench"))
    settings = Settings(
        clickhouse_url=url, clickhouse_database="bench", sink_batch_rows=50_000, sink_flush_interval_s=1.0
    )
    ingest = Runtime.embedded(settings).start_dataflows(["chat"])
    started = time.perf_counter()
    replay([recording], ingest.publisher(topics.IRC_RAW, "replay").publish)
    counters = ingest.finish()
    elapsed = time.perf_counter() - started
    assert counters.messages == len(lines), counters
    return len(lines) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--formats", default="jsonl,csv")
    args = ap.parse_args()
    lines = make_lines(args.messages)
    print(f"input: {len(lines):,} PRIVMSG lines ({sum(map(len, lines)) / len(lines):.0f} bytes avg)")
    with tempfile.TemporaryDirectory() as tmp:
        reference = replay_rate(lines, Path(tmp))
        print(f"archive path (streamscope replay → chDB)   : {reference:>10,.0f} messages/s (reference)")
        for fmt in args.formats.split(","):
            rate, size = asyncio.run(capture_rate(lines, fmt, Path(tmp)))
            print(
                f"capture job, {fmt:<5} (IRC WebSocket → file) : {rate:>10,.0f} messages/s, "
                f"ratio to archive path {rate / reference:.2f}, {size / len(lines):.0f} bytes/message"
            )


if __name__ == "__main__":
    main()
