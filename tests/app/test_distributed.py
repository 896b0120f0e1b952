"""Distributed mode end to end, with real processes: ``streamscope source replay`` → Apache Kafka →
``streamscope up --kafka`` (the chat dataflow with Bytewax recovery + the API on chDB).

Crashes are real ``kill -9`` (SIGKILL) of the process at a moment when the stream is still flowing
(the source paces the recording with ``--speed``). Expected values come from the raw recording, read
here with a small separate scan, and are compared with what the API pages out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.data import XQCOW
from tests.fixtures.kafka_broker import free_port
from tests.fixtures.stack import Stack, kill9

SPEED = "60"  # the 463 s recording in about 8 s: slow enough to kill processes mid-stream


def recorded_ids(path: Path) -> list[str]:
    """The ``id`` tag of every PRIVMSG in the recording, in file order."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("@") and " PRIVMSG #" in line:
            tags = dict(t.split("=", 1) for t in line[1:].split(" ", 1)[0].split(";") if "=" in t)
            ids.append(tags["id"])
    return ids


def test_dataflow_killed_mid_stream_resumes_without_loss_or_doubles(stack: Stack) -> None:
    expected = recorded_ids(XQCOW)
    up = stack.up()
    source = stack.source(XQCOW)
    before_kill = stack.wait_stored(300)
    kill9(up)
    assert source.poll() is None, "the source should still be publishing when the dataflow dies"
    assert before_kill < len(expected)

    up = stack.up()
    assert source.wait(120) == 0, stack.logs()
    stack.wait_stored(len(expected))
    time.sleep(1.5)  # anything doubled would have been inserted by now
    ids = stack.all_ids()
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)
    assert stack.stored() == len(expected)


def test_source_killed_and_restarted_re_sends_without_doubles(stack: Stack) -> None:
    expected = recorded_ids(XQCOW)
    stack.up()
    source = stack.source(XQCOW)
    stack.wait_stored(300)
    kill9(source)
    partial = stack.stored()
    assert 0 < partial < len(expected)

    again = stack.source(XQCOW, speed=None)  # a restarted source re-sends from the start
    assert again.wait(120) == 0, stack.logs()
    stack.wait_stored(len(expected))
    time.sleep(1.5)
    ids = stack.all_ids()
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)


def test_source_and_pipeline_commands_need_brokers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STREAMSCOPE_KAFKA_BROKERS"}
    for args in (["source", "replay", str(XQCOW)], ["pipeline", "chat"]):
        done = subprocess.run(
            [sys.executable, "-m", "streamscope.app.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert "no Kafka brokers: pass --kafka HOST:PORT or set STREAMSCOPE_KAFKA_BROKERS" in done.stderr


def scrape(port: int) -> dict[str, float]:
    """The process's Prometheus samples, ``name{labels}`` → value."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def wait_metrics(port: int, proc: subprocess.Popen[bytes], stack: Stack, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process exited with {proc.returncode}:\n{stack.logs()}"
        try:
            scrape(port)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"no metrics on :{port}:\n{stack.logs()}")


def test_pipeline_process_with_two_workers_survives_kill_9(stack: Stack) -> None:
    """``streamscope pipeline chat -w 2`` alone (no API in it), killed mid-stream and restarted."""
    expected = recorded_ids(XQCOW)
    stored = 'ingested_lines_total{result="stored"}'

    def pipeline() -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = stack.spawn("pipeline", "pipeline", "chat", "-w", "2", "--metrics-port", str(port))
        wait_metrics(port, proc, stack)
        return proc, port

    proc, port = pipeline()
    source = stack.source(XQCOW)
    deadline = time.monotonic() + 120
    while scrape(port).get(stored, 0) < 300:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.1)
    kill9(proc)
    assert source.poll() is None, "the source should still be publishing when the dataflow dies"

    proc, port = pipeline()
    assert source.wait(120) == 0, stack.logs()
    topic = stack.env["STREAMSCOPE_KAFKA_TOPIC_PREFIX"] + "twitch.irc.raw"
    lag_keys = [f'kafka_consumer_lag{{partition="{p}",topic="{topic}"}}' for p in range(6)]

    def caught_up() -> bool:
        samples = scrape(port)
        return all(samples.get(k) == 0 for k in lag_keys) and samples.get(stored, 0) > 0

    deadline = time.monotonic() + 120
    while True:
        if caught_up():
            time.sleep(2.5)  # twice, one lag period apart: the last batches flushed and counted
            if caught_up():
                break
        assert time.monotonic() < deadline, f"lag never reached 0: {scrape(port)}\n{stack.logs()}"
        time.sleep(0.2)
    samples = scrape(port)
    assert samples.get("pipeline_batch_lines_count", 0) > 0
    assert samples.get("warehouse_flush_seconds_count", 0) > 0
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0, stack.logs()

    # The warehouse is chDB: one process at a time, so the API opens it once the pipeline is gone.
    api = stack.spawn("serve", "serve", "--port", str(stack.port))
    stack.wait_api(api)
    ids = stack.all_ids()
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)


def test_the_chat_flow_runs_under_bytewax_run(stack: Stack) -> None:
    """``python -m bytewax.run streamscope.pipelines.chat:flow`` (the DESIGN's import-path contract)
    with its own
    recovery flags, after ``streamscope db migrate``; the API then pages every message once."""
    expected = recorded_ids(XQCOW)
    assert stack.source(XQCOW, speed=None).wait(120) == 0, stack.logs()
    assert stack.spawn("migrate", "db", "migrate").wait(120) == 0, stack.logs()
    recovery = stack.tmp / "bytewax-recovery"
    recovery.mkdir()
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(recovery), "1"], check=True, timeout=60)
    command = [sys.executable, "-m", "bytewax.run", "streamscope.pipelines.chat:flow", "-r", str(recovery)]
    command += ["-s", "1", "-b", "0"]
    ids: list[str] = []
    for round_ in range(4):  # the flow tails Kafka forever: run it, stop it, look; resume if short
        log = (stack.tmp / f"9{round_}-bytewax-run.log").open("wb")
        proc = subprocess.Popen(command, env=stack.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        stack.procs.append(proc)
        time.sleep(12)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        api = stack.spawn("serve", "serve", "--port", str(stack.port))
        stack.wait_api(api)
        ids = stack.all_ids()
        api.send_signal(signal.SIGINT)
        api.wait(60)
        if len(ids) >= len(expected):
            break
    assert len(ids) == len(set(ids)) == len(expected), stack.logs()
