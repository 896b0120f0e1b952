"""End to end: ``streamscope up`` (a real subprocess) captures from a loopback Twitch IRC server that
replays real recordings, and the API returns every message exactly, paging without gaps or doubles.

The expected values are computed here from the raw lines with a deliberately small, separate parser,
so a bug in the project's parser cannot make both sides agree.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.data import RECORDED as DATA
from tests.fixtures.twitch_irc_server import TwitchIrcServer, load_lines
from tests.oracle import unescape

XQCOW_ID = 71092938
PAJLADA_ID = 11148817


def expected_message(line: str) -> dict[str, Any]:
    tag_part, rest = line[1:].split(" ", 1)
    tags = dict(t.split("=", 1) if "=" in t else (t, "") for t in tag_part.split(";"))
    prefix, _command, _channel, text = rest.split(" ", 3)
    text = text[1:]
    is_me = text.startswith("\x01ACTION ") and text.endswith("\x01")
    if is_me:
        text = text[len("\x01ACTION ") : -1]
    emotes = sorted(
        (emote_id, int(span.split("-")[0]), int(span.split("-")[1]))
        for group in tags.get("emotes", "").split("/")
        if group
        for emote_id, spans in [group.split(":", 1)]
        for span in spans.split(",")
    )
    return {
        "id": tags.get("id"),
        "timestamp": int(tags["tmi-sent-ts"]),
        "text": text,
        "is_me": is_me,
        "user_id": int(tags["user-id"]),
        "login": prefix[1:].split("!", 1)[0],
        "display_name": unescape(tags["display-name"]),
        "badges": [b.split("/", 1) for b in tags.get("badges", "").split(",") if b],
        "emotes": emotes,
    }


def clickhouse_uuid_order(value: str) -> tuple[str, str]:
    """ClickHouse orders UUIDs by their last 8 bytes, then their first 8."""
    hexa = value.replace("-", "")
    return hexa[16:], hexa[:16]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def up(twitch_irc_server: TwitchIrcServer, tmp_path: Path) -> AsyncIterator[tuple[str, Any]]:
    """``streamscope up --channel xqcow --channel pajlada`` against the loopback server."""
    port = free_port()
    env = {
        **os.environ,
        "STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url,
        "STREAMSCOPE_CLICKHOUSE_URL": f"chdb://{tmp_path / 'warehouse'}",
        "STREAMSCOPE_SINK_FLUSH_INTERVAL_S": "0.2",
    }
    log = (tmp_path / "up.log").open("wb")  # a file, not a pipe: a full pipe would stall the process
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamscope.app.cli",
        "up",
        "--channel",
        "xqcow",
        "--channel",
        "pajlada",
        "--port",
        str(port),
        "--status-every",
        "1",
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await twitch_irc_server.wait_joined(["xqcow", "pajlada"], timeout_s=60)
        yield base, proc
    finally:
        log.close()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def stored_count(client: httpx.AsyncClient, broadcaster_id: int) -> int:
    """Messages the API returns for a channel over all time, by paging (the contract under test)."""
    probe = await client.get(
        f"/v1.0/{broadcaster_id}/chat",
        params={"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
    )
    if probe.status_code == 404:  # nothing captured for the channel yet
        return 0
    return len(await all_pages(client, broadcaster_id))


async def all_pages(client: httpx.AsyncClient, broadcaster_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z", "limit": 100}
    while True:
        res = await client.get(f"/v1.0/{broadcaster_id}/chat", params=params)
        assert res.status_code == 200, res.text
        page = res.json()
        items.extend(page["messages"])
        if page["cursor"] is None:
            return items
        params["after"] = page["cursor"]


async def wait_for_count(
    client: httpx.AsyncClient, broadcaster_id: int, n: int, timeout_s: float = 90
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    count = -1
    while loop.time() < deadline:
        try:
            count = await stored_count(client, broadcaster_id)
        except httpx.TransportError:
            count = -1
        if count >= n:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"only {count} of {n} messages stored for {broadcaster_id} within {timeout_s}s")


async def test_up_stores_every_privmsg_and_the_api_returns_each_exactly(
    up: tuple[str, Any], twitch_irc_server: TwitchIrcServer, tmp_path: Path
) -> None:
    base, proc = up
    xqcow = load_lines(DATA / "xqcow_2019-09-15.log")
    pajlada = load_lines(DATA / "pajlada_userlog_2018_part1.log")
    await twitch_irc_server.play(xqcow + pajlada, lines_per_frame=50)

    want = sorted(
        (expected_message(line) for line in xqcow if " PRIVMSG " in line),
        key=lambda m: (m["timestamp"], clickhouse_uuid_order(m["id"])),
    )
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await wait_for_count(client, XQCOW_ID, len(want))
        # The 2018 user log repeats 8 lines byte for byte: identical lines are one message.
        pajlada_messages = [line for line in pajlada if " PRIVMSG " in line]
        await wait_for_count(client, PAJLADA_ID, len(set(pajlada_messages)))
        items = await all_pages(client, XQCOW_ID)

    assert len(items) == len(want) == 4933
    assert len({item["message_id"] for item in items}) == len(items)
    for item, exp in zip(items, want, strict=True):
        msg = json.loads(item["message"])
        assert item["broadcaster_id"] == XQCOW_ID
        assert item["message_id"] == msg["id"] == exp["id"]
        assert item["timestamp"] == msg["sent_timestamp"] == exp["timestamp"]
        assert msg["text"] == exp["text"]
        assert msg["is_me"] == exp["is_me"]
        # The seed "Twitch Chat Ingestor" shape: string ids, user.name, badges as a map, emotes
        # by id with inclusive string positions, the room by name and room_id.
        assert msg["user"]["id"] == str(exp["user_id"])
        assert msg["user"]["name"] == exp["login"]
        assert msg["user"]["display_name"] == exp["display_name"]
        assert msg["user"]["badges"] == dict(exp["badges"])
        emotes = [
            (emote_id, int(p["start_position"]), int(p["end_position"]))
            for emote_id, places in (msg["emotes"] or {}).items()
            for p in places
        ]
        assert sorted(emotes) == exp["emotes"]
        assert (msg["room"]["name"], msg["room"]["room_id"]) == ("xqcow", str(XQCOW_ID))

    proc.send_signal(2)  # Ctrl-C: flush and exit cleanly
    await asyncio.wait_for(proc.wait(), 60)
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-2000:]
    assert f"stored {len(want) + len(pajlada_messages)} messages" in output  # rows written
    assert "progress: 2/2 channels joined" in output


async def test_up_loses_nothing_sent_after_reconnect_or_drop(
    up: tuple[str, Any], twitch_irc_server: TwitchIrcServer
) -> None:
    base, _proc = up
    lines = [line for line in load_lines(DATA / "xqcow_2019-09-15.log") if " PRIVMSG " in line]
    first, second, third = lines[:1500], lines[1500:3000], lines[3000:]
    ids = [expected_message(line)["id"] for line in lines]

    await twitch_irc_server.play(first, lines_per_frame=50)
    await twitch_irc_server.reconnect()
    await twitch_irc_server.play(second, lines_per_frame=50)  # held until the rejoin, then sent
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        # Lines still in flight when a socket is cut are gone on any TCP connection; what the
        # contract promises is everything the server sends after the client is back.
        await wait_for_count(client, XQCOW_ID, len(first) + len(second))
        await twitch_irc_server.drop()
        await twitch_irc_server.play(third, lines_per_frame=50)
        await wait_for_count(client, XQCOW_ID, len(lines))
        items = await all_pages(client, XQCOW_ID)
    got = [item["message_id"] for item in items]
    assert len(got) == len(set(got))  # nothing doubled
    assert set(got) == set(ids)  # nothing lost: the server only sends after the client rejoined
