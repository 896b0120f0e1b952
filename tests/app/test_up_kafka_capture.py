"""``streamscope up --kafka BROKERS --channel xqcow`` (a real subprocess): the same process captures
anonymous IRC from the loopback Twitch IRC server into Kafka and reads it back through the Kafka
chat dataflow into the warehouse; the API pages every recorded message exactly once.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from pathlib import Path

import httpx

from tests.app.test_up import XQCOW_ID, all_pages, free_port, wait_for_count
from tests.data import RECORDED
from tests.fixtures.kafka_broker import KafkaBroker
from tests.fixtures.twitch_irc_server import TwitchIrcServer, load_lines

ID_TAG = re.compile(r"[@;]id=([^; ]+)")


async def test_up_with_kafka_captures_through_kafka(
    twitch_irc_server: TwitchIrcServer, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url,
        "STREAMSCOPE_CLICKHOUSE_URL": f"chdb://{tmp_path / 'warehouse'}",
        "STREAMSCOPE_RECOVERY_DIR": str(tmp_path / "recovery"),
        "STREAMSCOPE_KAFKA_TOPIC_PREFIX": f"u{uuid.uuid4().hex[:10]}.",
        "STREAMSCOPE_SINK_FLUSH_INTERVAL_S": "0.2",
    }
    log = (tmp_path / "up.log").open("wb")  # a file, not a pipe
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamscope.app.cli", "up", "--kafka", kafka_broker.bootstrap,
        "--channel", "xqcow", "--port", str(port), "--status-every", "1",
        env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        await twitch_irc_server.wait_joined(["xqcow"], timeout_s=120)
        xqcow = load_lines(RECORDED / "xqcow_2019-09-15.log")
        await twitch_irc_server.play(xqcow, lines_per_frame=50)
        want = {m.group(1) for line in xqcow if " PRIVMSG " in line and (m := ID_TAG.search(line))}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await wait_for_count(client, XQCOW_ID, len(want))
            items = await all_pages(client, XQCOW_ID)
    finally:
        if proc.returncode is None:
            proc.send_signal(2)
            try:
                await asyncio.wait_for(proc.wait(), 90)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    assert [item["message_id"] for item in items].count(items[0]["message_id"]) == 1
    assert {item["message_id"] for item in items} == want and len(items) == len(want) == 4933
    assert f"dataflows reading Kafka {kafka_broker.bootstrap}" in output
