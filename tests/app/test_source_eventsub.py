"""``streamscope source eventsub --kafka BROKERS`` (a real subprocess) against a real Apache Kafka.

The EventSub peer is the loopback server of ``tests/fixtures/eventsub_server.py`` (Twitch's
documented WebSocket protocol, Helix ``/eventsub/subscriptions`` and ``/users``), sending recorded
chatterino2 frames moved to sodapoppin's channel. The source must subscribe to the stream and chat
events of the channel, publish every notification frame to ``twitch.eventsub.raw`` untouched (key the
broadcaster login, ``subscription-type`` header), and on SIGINT flush what it holds and exit 0.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer

from streamscope import topics
from streamscope.kafka import decode_event, topic_name
from tests.app.test_up_eventsub import ID, LOGIN, frame
from tests.fixtures.eventsub_server import EventSubServer, wait_until
from tests.fixtures.kafka_broker import KafkaBroker

SENT = ("stream.online", "channel.chat.message", "channel.update", "stream.offline")


def consume(bootstrap: str, topic: str, want: int, timeout_s: float = 60) -> list[tuple[str, str, str]]:
    """(key, subscription-type header, value) of the first ``want`` messages of ``topic``."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"t{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[tuple[str, str, str]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(got) < want and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            event = decode_event(msg.key(), msg.value(), msg.timestamp()[1], msg.headers())
            got.append((event.channel, event.kind, event.payload))
    finally:
        consumer.close()
    return got


async def test_source_eventsub_publishes_every_frame_to_kafka(
    eventsub_server: EventSubServer, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    prefix = f"e{uuid.uuid4().hex[:10]}."
    env = {
        **os.environ,
        "STREAMSCOPE_TWITCH_CLIENT_ID": eventsub_server.client_id,
        "STREAMSCOPE_TWITCH_CLIENT_SECRET": "",
        "STREAMSCOPE_TWITCH_USER_TOKEN": eventsub_server.token,
        "STREAMSCOPE_TWITCH_EVENTSUB_URL": eventsub_server.url,
        "STREAMSCOPE_TWITCH_HELIX_URL": eventsub_server.helix_url,
        "STREAMSCOPE_KAFKA_TOPIC_PREFIX": prefix,
    }
    log = (tmp_path / "source.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamscope.app.cli", "source", "eventsub", "--channel", LOGIN,
        "--kafka", kafka_broker.bootstrap, "--status-every", "1",
        env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        await wait_until(lambda: sum(1 for s, _ in eventsub_server.requests if s == 202) >= 4, timeout=60)
        subscribed = sorted(b["type"] for s, b in eventsub_server.requests if s == 202)
        assert {"channel.chat.message", "channel.update", "stream.offline", "stream.online"} <= set(
            subscribed
        )
        assert all(
            b["condition"]["broadcaster_user_id"] == ID for s, b in eventsub_server.requests if s == 202
        )
        frames: list[str] = []  # the texts the server sent (it fills in each subscription)
        for name in SENT:
            sent = await eventsub_server.notify(frame(name))
            assert len(sent) == 1
            frames += sent
        got = await asyncio.to_thread(
            consume, kafka_broker.bootstrap, topic_name(topics.EVENTSUB_RAW, prefix), len(frames)
        )
    finally:
        if proc.returncode is None:
            proc.send_signal(2)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()
    output = (tmp_path / "source.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    # One partition per broadcaster key: the frames arrive in the order they were sent, untouched.
    assert [(key, kind) for key, kind, _ in got] == [(LOGIN, name) for name in SENT], output[-3000:]
    assert [value for _, _, value in got] == frames  # byte for byte
    assert eventsub_server.token not in output
