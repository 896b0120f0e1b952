"""Distributed mode figures: source → Apache Kafka → Bytewax (with recovery) → chDB.

Not a test: it prints figures. It starts its own single-node broker with ``scripts/kafka`` (or uses
``--bootstrap``). The input is the real #xqcow recording repeated with fresh ids (bench/replay.py).

Figures printed:
* sustained messages/s with the source (``streamscope source replay``, its own process) publishing
  while the Kafka chat dataflow stores (goal ≥ 50k/s), and the same lines through the embedded
  in-process bus measured in the same run (the reference; ratio kafka/embedded);
* end-to-end latency p50/p99 from capture (the record's receive time) to queryable in the warehouse
  at a steady 1k messages/s (goal p99 ≤ 2 s), with the default 1 s flush interval;
* recovery after ``kill -9`` of ``streamscope pipeline chat`` under a steady 1k messages/s: time from
  the restart to the first rows stored again, and to caught up (consumer lag 0).

Usage: python bench/kafka.py [--messages 300000] [--latency-seconds 20] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from replay import make_lines  # noqa: E402

from streamscope import topics  # noqa: E402
from streamscope.app.runtime import Runtime  # noqa: E402
from streamscope.kafka import encode_line, ensure_topics, topic_name  # noqa: E402
from streamscope.pipelines.transport import Batching, KafkaTransport  # noqa: E402
from streamscope.records import RawLine  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.sinks.kafka import KafkaPublisher  # noqa: E402
from streamscope.warehouse import connect, migrate  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(data_dir: Path) -> str:
    subprocess.run([str(ROOT / "scripts" / "kafka"), "install"], check=True, capture_output=True)
    done = subprocess.run(
        [str(ROOT / "scripts" / "kafka"), "start", "--port", str(free_port()),
         "--controller-port", str(free_port()), "--data-dir", str(data_dir)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def count(client, table: str = "chat_messages") -> int:  # type: ignore[no-untyped-def]
    return int(client.query(f"SELECT count() FROM {table}").result_rows[0][0])


class Flow:
    """The Kafka chat dataflow of a :class:`Runtime` in this process, with recovery; ``stop()`` ends it."""

    def __init__(self, bootstrap: str, prefix: str, url: str, db: str, rec: Path, interval: float) -> None:
        settings = Settings(
            clickhouse_url=url, clickhouse_database=db, sink_batch_rows=50_000,
            sink_flush_interval_s=interval, recovery_dir=str(rec), kafka_brokers=bootstrap,
            kafka_topic_prefix=prefix,
        )  # fmt: skip
        transport = KafkaTransport(bootstrap, prefix=prefix, batching=Batching.from_settings(settings))
        self.runtime = Runtime(settings, transport).start_dataflows(["chat"])

    def stop(self) -> None:
        self.runtime.finish()


def throughput(bootstrap: str, tmp: Path, lines: list[RawLine]) -> None:
    n = len(lines)
    url = f"chdb://{tmp / 'wh'}"
    ref = connect(url, "embedded")
    migrate(ref)
    settings = Settings(
        clickhouse_url=url, clickhouse_database="embedded", sink_batch_rows=50_000, sink_flush_interval_s=1.0
    )
    ingest = Runtime.embedded(settings).start_dataflows(["chat"])
    publish = ingest.publisher(topics.IRC_RAW, "bench").publish
    t0 = time.perf_counter()
    for i in range(0, n, 5000):
        publish(lines[i : i + 5000])
    assert ingest.finish().messages == n
    embedded_s = time.perf_counter() - t0

    recording = tmp / "input.log"
    recording.write_text("\n".join(r.line for r in lines) + "\n", encoding="utf-8")
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, topics.ALL, prefix=prefix)
    client = connect(url, "kafka")
    migrate(client)
    env = {**os.environ, "STREAMSCOPE_KAFKA_BROKERS": bootstrap, "STREAMSCOPE_KAFKA_TOPIC_PREFIX": prefix}
    t0 = time.perf_counter()
    source = subprocess.Popen(
        [sys.executable, "-m", "streamscope.app.cli", "source", "replay", str(recording)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    flow = Flow(bootstrap, prefix, url, "kafka", tmp / "rec-tp", 1.0)
    source_s = None
    while count(client) < n:
        if source_s is None and source.poll() is not None:
            source_s = time.perf_counter() - t0
        time.sleep(0.05)
    kafka_s = time.perf_counter() - t0
    source.wait()
    source_s = source_s or kafka_s
    flow.stop()
    print(f"input: {n:,} PRIVMSG lines")
    print(f"source → Kafka (own process)          : {n / source_s:>10,.0f} messages/s")
    print(
        f"source → Kafka → Bytewax → chDB       : {n / kafka_s:>10,.0f} messages/s sustained (goal ≥ 50,000)"
    )
    print(f"embedded bus → Bytewax → chDB (ref)   : {n / embedded_s:>10,.0f} messages/s")
    print(f"kafka / embedded ratio                : {embedded_s / kafka_s:>10.2f}")


def paced(publisher: KafkaPublisher[RawLine], lines: list[RawLine], rate: int, stop: threading.Event) -> None:
    """Publish at ``rate`` lines/s, stamping each with its capture time (as a live source does)."""
    started = time.monotonic()
    for i in range(0, len(lines), rate // 20):
        if stop.is_set():
            return
        due = started + i / rate
        time.sleep(max(0.0, due - time.monotonic()))
        now = int(time.time() * 1000)
        publisher.publish([_restamp(r, now) for r in lines[i : i + rate // 20]])


def _restamp(r: RawLine, now: int) -> RawLine:
    line = r.line.replace(f"tmi-sent-ts={r.received_at}", f"tmi-sent-ts={now}", 1)
    return RawLine(r.channel, line, now, r.source)


def latency(bootstrap: str, tmp: Path, lines: list[RawLine], seconds: int) -> None:
    rate = 1000
    url = f"chdb://{tmp / 'wh'}"
    client = connect(url, "latency")
    migrate(client)
    prefix = f"bench-latency-{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, topics.ALL, prefix=prefix)
    topic = topic_name(topics.IRC_RAW, prefix)
    flow = Flow(bootstrap, prefix, url, "latency", tmp / "rec-lat", Settings().sink_flush_interval_s)
    publisher = KafkaPublisher(bootstrap, topic, encode_line)
    todo = lines[: rate * seconds]
    stop = threading.Event()
    feeder = threading.Thread(target=paced, args=(publisher, todo, rate, stop), daemon=True)
    feeder.start()
    seen = 0
    delays: list[int] = []
    while seen < len(todo):
        now = int(time.time() * 1000)
        rows = client.query(
            "SELECT sent_at FROM chat_messages ORDER BY sent_at LIMIT 100000 OFFSET {seen:UInt64}",
            parameters={"seen": seen},
        ).result_rows
        delays.extend(now - int(r[0].timestamp() * 1000) for r in rows)
        seen += len(rows)
        time.sleep(0.02)
    feeder.join()
    flow.stop()
    delays.sort()
    p50, p99 = delays[len(delays) // 2], delays[int(len(delays) * 0.99)]
    interval = Settings().sink_flush_interval_s
    print(f"latency capture → queryable at {rate}/s : p50 {p50 / 1000:.2f} s, p99 {p99 / 1000:.2f} s "
          f"(goal p99 ≤ 2 s; flush interval {interval:.1f} s), {len(delays):,} messages")  # fmt: skip


def scrape(port: int) -> dict[str, float]:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def recovery(bootstrap: str, tmp: Path, lines: list[RawLine]) -> None:
    prefix = f"bench-recovery-{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, topics.ALL, prefix=prefix)
    topic = topic_name(topics.IRC_RAW, prefix)
    env = {
        **os.environ, "STREAMSCOPE_KAFKA_BROKERS": bootstrap, "STREAMSCOPE_KAFKA_TOPIC_PREFIX": prefix,
        "STREAMSCOPE_CLICKHOUSE_URL": f"chdb://{tmp / 'wh-rec'}",
        "STREAMSCOPE_RECOVERY_DIR": str(tmp / "rec"),
    }  # fmt: skip
    publisher = KafkaPublisher(bootstrap, topic, encode_line)
    stop = threading.Event()
    feeder = threading.Thread(target=paced, args=(publisher, lines, 1000, stop), daemon=True)
    feeder.start()

    def pipeline() -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamscope.app.cli", "pipeline", "chat", "--metrics-port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return proc, port

    stored = 'ingested_lines_total{result="stored"}'
    proc, port = pipeline()
    while scrape(port).get(stored, 0) < 5000:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(3)  # the stream goes on while the dataflow is down: a backlog builds up
    t0 = time.perf_counter()
    proc, port = pipeline()
    while scrape(port).get(stored, 0) == 0:
        time.sleep(0.05)
    first = time.perf_counter() - t0
    lag_prefix = 'kafka_consumer_lag{partition="'
    while True:
        samples = scrape(port)
        lags = [v for k, v in samples.items() if k.startswith(lag_prefix) and topic in k]
        if len(lags) == topics.IRC_RAW.partitions and sum(lags) < 1000:  # within one second of live
            break
        time.sleep(0.05)
    caught = time.perf_counter() - t0
    stop.set()
    feeder.join()
    proc.send_signal(signal.SIGINT)
    proc.wait()
    print(f"recovery after kill -9 (3 s down, 1k/s): first rows stored {first:.1f} s after restart, "
          f"caught up (lag < 1 s of input) after {caught:.1f} s")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--latency-seconds", type=int, default=20)
    ap.add_argument("--bootstrap", help="use this broker instead of starting one")
    args = ap.parse_args()
    lines = make_lines(max(args.messages, args.latency_seconds * 1000, 60_000))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bootstrap = args.bootstrap or start_broker(tmp / "kafka")
        try:
            throughput(bootstrap, tmp, lines[: args.messages])
            latency(bootstrap, tmp, lines, args.latency_seconds)
            recovery(bootstrap, tmp, lines[:60_000])
        finally:
            if not args.bootstrap:
                subprocess.run([str(ROOT / "scripts" / "kafka"), "stop", "--data-dir", str(tmp / "kafka")],
                               capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
