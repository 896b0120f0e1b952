"""Live Twitch chat capture against the loopback IRC server: reply and event fields, unreachable IRC."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import time
from collections import defaultdict

from streamscope.capture import Progress, SourceUnreachable, capture, resolve
from streamscope.settings import Settings
from tests.capture.oracle import reply, reply_cells, system_message
from tests.data import IRC
from tests.fixtures.twitch_irc_server import TwitchIrcServer, channel_param, load_lines
from tests.oracle import split_line

TIMEOUT = 60.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replies_and_system_messages() -> dict[str, list[str]]:
    """Every recorded line with reply-parent tags and every USERNOTICE with a system-msg, by channel."""
    by_channel: dict[str, list[str]] = defaultdict(list)
    for path in sorted(IRC.rglob("*.log")):
        for line in load_lines(path):
            _tags, _nick, command, _params = split_line(line)
            if (command == "PRIVMSG" and "reply-parent-msg-id=" in line) or (
                command == "USERNOTICE" and "system-msg=" in line
            ):
                by_channel[channel_param(line)].append(line)
    return by_channel


async def test_reply_and_system_message_fields_match_the_raw_lines(
    twitch_irc_server: TwitchIrcServer,
) -> None:
    by_channel = replies_and_system_messages()
    lines = [line for chat in by_channel.values() for line in chat]
    assert sum(" PRIVMSG " in x for x in lines) >= 10 and sum(" USERNOTICE " in x for x in lines) >= 60
    settings = Settings(twitch_irc_url=twitch_irc_server.url)
    files: dict[tuple[str, str], io.BytesIO] = {}

    async def one(channel: str, fmt: str) -> None:
        fp = files[channel, fmt] = io.BytesIO()
        target = resolve(f"https://www.twitch.tv/{channel}")
        reason = await capture(target, fmt, fp, settings, max_messages=len(by_channel[channel]))
        assert reason == "max_messages"

    captures = [asyncio.create_task(one(c, f)) for c in by_channel for f in ("json", "csv")]
    try:
        await twitch_irc_server.wait_until(
            lambda: sum(len(c.channels) for c in twitch_irc_server.open_connections) == len(captures), TIMEOUT
        )
        await twitch_irc_server.play(lines, lines_per_frame=10)
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*captures)
    finally:
        for task in captures:
            task.cancel()
        await asyncio.gather(*captures, return_exceptions=True)

    checked = worded = 0
    for channel, chat in by_channel.items():
        objects = json.loads(files[channel, "json"].getvalue())
        rows = list(csv.DictReader(io.StringIO(files[channel, "csv"].getvalue().decode(), newline="")))
        assert len(objects) == len(rows) == len(chat)
        for line, obj, row in zip(chat, objects, rows, strict=True):
            tags, _nick, command, _params = split_line(line)
            assert obj["message_id"] == row["message_id"] == tags["id"]
            if command == "PRIVMSG":
                assert obj["message_type"] == "text_message"
                assert obj["reply"] == reply(line) is not None
                assert {k: row[k] for k in reply_cells(line)} == reply_cells(line)
                assert obj["system_message"] is None and row["system_message"] == ""
            else:
                assert obj["reply"] is None and row["reply_parent_id"] == ""
                assert obj["system_message"] == system_message(line)  # null for an empty system-msg
                assert row["system_message"] == (system_message(line) or "")
                worded += obj["system_message"] is not None
            checked += 1
    assert checked == len(lines)
    assert worded >= 50


async def test_an_irc_server_never_reached_fails_the_capture_after_the_connect_timeout() -> None:
    port = closed_port()
    settings = Settings(twitch_irc_url=f"ws://127.0.0.1:{port}", capture_connect_timeout_s=1.5)
    fp = io.BytesIO()
    progress = Progress()
    started = time.monotonic()
    try:
        await asyncio.wait_for(
            capture(resolve("https://www.twitch.tv/xqcow"), "json", fp, settings, progress=progress), TIMEOUT
        )
    except SourceUnreachable as exc:
        error = str(exc)
    else:
        raise AssertionError("the capture of an unreachable IRC server ended without an error")
    assert 1.5 <= time.monotonic() - started < 10
    # The source retried (backoff starts at 1 s: a second attempt falls within the 1.5 s).
    assert progress.failed_attempts >= 2
    assert progress.last_error is not None and str(port) in progress.last_error
    assert error == (
        f"could not reach Twitch IRC at ws://127.0.0.1:{port} within 1.5 s "
        f"({progress.failed_attempts} failed attempts); the last error: {progress.last_error}"
    )
    assert json.loads(fp.getvalue()) == []  # the file is still closed properly
