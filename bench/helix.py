"""Benchmark: Helix channels polled per minute within the rate budget; stream.offline → closed session.

1. Budget: the poller tracks CHANNELS logins (100 per request) against the loopback Helix server
   (tests/fixtures/helix_server.py: a token bucket of 800 points refilled at 800/minute, real
   ``Ratelimit-*`` headers, 429 when empty) on a simulated clock, for MINUTES minutes. Prints
   channels polled per minute (after the first minute, whose full bucket is a one-off bonus), 429s
   received, and, in the same run, the references: the budget's ceiling (800 requests x 100 logins)
   and the same client with header pacing switched off. Real HTTP over loopback; only the clock is
   simulated, so a "minute" costs what 800 requests cost, not 60 s.
2. Latency: the streams dataflow (real Bytewax, chDB in a temp dir) gets stream.online, then
   stream.offline (recorded EventSub frames, re-timed); time from publishing stream.offline to the
   closed session row being readable with FINAL, median of RUNS, next to the sink flush interval
   (the reference it is bounded by).

Not a test: prints figures, asserts nothing. Run: ``python bench/helix.py [--channels N --minutes M]``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from streamscope import topics  # noqa: E402
from streamscope.app.runtime import Runtime  # noqa: E402
from streamscope.records import RawEvent  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.sources.helix.client import HelixClient  # noqa: E402
from streamscope.sources.helix.poller import HelixStreamsPoller  # noqa: E402
from streamscope.sources.helix.ratelimit import RateLimit  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402
from tests.fixtures.helix_server import FakeClock, HelixServerState, _handler, synthetic_streams  # noqa: E402

FRAMES = ROOT / "tests" / "data" / "eventsub" / "chatterino2" / "ws-messages"
RUNS = 7


class NoPacing(RateLimit):
    """The reference client: ignores Ratelimit-* until a 429 says stop."""

    def delay(self, now: float) -> float:
        return 0.0


async def budget(channels: int, minutes: int, paced: bool) -> tuple[list[int], int, int, float]:
    """(channels polled in each simulated minute, 429s, requests, wall seconds)."""
    from http.server import ThreadingHTTPServer
    from threading import Thread

    clock = FakeClock()
    state = HelixServerState(clock=clock, limit=800)
    state.put(*synthetic_streams(channels))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    client = HelixClient(
        state.client_id, SecretStr(state.client_secret), helix_url=f"{base}/helix", auth_url=f"{base}/oauth2",
        clock=clock, max_attempts=50,
    )  # fmt: skip
    if not paced:
        client.rate = NoPacing()
    logins = [f"chan{i:05d}" for i in range(channels)]
    polled: list[tuple[float, int]] = []  # (answer time, logins answered) per published envelope

    def publish(events: Sequence[RawEvent]) -> None:
        for e in events:
            polled.append((e.received_at / 1000, len(json.loads(e.payload)["logins"])))

    poller = HelixStreamsPoller(logins, publish, client, interval_s=60, clock=clock)
    start, wall = clock.now(), time.perf_counter()
    while clock.now() - start < minutes * 60:
        await poller.poll_once()
    wall = time.perf_counter() - wall
    await client.aclose()
    server.shutdown()
    server.server_close()
    per_minute = [0] * minutes
    for t, n in polled:
        minute = int((t - start) // 60)
        if minute < minutes:
            per_minute[minute] += n
    return per_minute, client.stats.rate_limited, client.stats.requests, wall


def frame(name: str, login: str, uid: str, stream_id: str, at: str) -> RawEvent:
    doc = copy.deepcopy(json.loads((FRAMES / f"{name}.json").read_text()))
    doc["metadata"]["message_timestamp"] = at
    ev = doc["payload"]["event"]
    ev.update(broadcaster_user_login=login, broadcaster_user_id=uid)
    if "id" in ev:
        ev["id"] = stream_id
    return RawEvent(login, name, json.dumps(doc), int(time.time() * 1000), "eventsub")


def offline_latency(tmp: str, flush_s: float) -> list[float]:
    # chDB opens one directory per process: every run uses the same one, each its own database.
    url, database = f"chdb://{tmp}/wh", f"bench_{int(flush_s * 1000)}"
    if True:
        client = connect(url, database)
        migrate(client)
        settings = Settings(
            clickhouse_url=url,
            clickhouse_database=database,
            sink_batch_rows=5000,
            sink_flush_interval_s=flush_s,
        )
        runtime = Runtime.embedded(settings).start_dataflows(["streams"])
        streams = runtime.publisher(topics.EVENTSUB_RAW, "eventsub")
        out = []
        for i in range(RUNS):
            uid, login, sid = str(5000 + i), f"bench{i}", f"9{i:04d}"
            streams.publish([frame("stream.online", login, uid, sid, "2024-05-14T12:00:00Z")])
            q = f"SELECT count() FROM streams FINAL WHERE channel_id = {uid}"
            while client.query(q).result_rows[0][0] == 0:
                time.sleep(0.005)
            t0 = time.perf_counter()
            streams.publish([frame("stream.offline", login, uid, sid, "2024-05-14T13:00:00Z")])
            q = f"SELECT count() FROM streams FINAL WHERE channel_id = {uid} AND ended_at IS NOT NULL"
            while client.query(q).result_rows[0][0] == 0:
                time.sleep(0.005)
            out.append(time.perf_counter() - t0)
        runtime.finish(timeout=60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--minutes", type=int, default=3)
    args = parser.parse_args()
    ceiling = 800 * 100
    for paced in (True, False):
        per_minute, r429, requests, wall = asyncio.run(budget(args.channels, args.minutes, paced))
        steady = statistics.mean(per_minute[1:]) if len(per_minute) > 1 else per_minute[0]
        label = "paced by Ratelimit-* headers" if paced else "reference: pacing off"
        print(
            f"helix /streams, {label}: {steady:,.0f} channels/min after minute 1 "
            f"(per minute: {', '.join(f'{m:,}' for m in per_minute)}), {r429} x 429 of {requests} requests, "
            f"{steady / ceiling:.2f} x the budget ceiling of {ceiling:,}/min; simulated {args.minutes} min "
            f"in {wall:.1f}s wall ({requests / wall:,.0f} requests/s)"
        )
    tmp = tempfile.mkdtemp(prefix="bench-helix-")
    for flush_s in (0.2, 1.0):
        lat = offline_latency(tmp, flush_s)
        med = statistics.median(lat)
        print(
            f"stream.offline -> closed session row readable: median {med * 1000:.0f} ms over {RUNS} runs "
            f"(min {min(lat) * 1000:.0f}, max {max(lat) * 1000:.0f}); sink flush interval {flush_s:g}s, "
            f"ratio {med / flush_s:.2f}"
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
