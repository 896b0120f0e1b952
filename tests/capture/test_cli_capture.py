"""``streamscope capture`` as a real subprocess: live capture with Ctrl-C, a VOD to its limit, errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from tests.capture.oracle import expected, privmsg, read_file
from tests.data import XQCOW
from tests.fixtures.twitch_gql_server import TwitchGqlServer
from tests.fixtures.twitch_irc_server import TwitchIrcServer, load_lines

LINES = load_lines(XQCOW)
TIMEOUT = 60.0


async def streamscope(tmp_path: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    log = (tmp_path / "capture.log").open("wb")  # a file, not a pipe: a full pipe would stall it
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streamscope.app.cli",
            *args,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


def output(tmp_path: Path) -> str:
    return (tmp_path / "capture.log").read_text(errors="replace")


async def test_ctrl_c_closes_the_json_file_and_prints_the_counts(
    twitch_irc_server: TwitchIrcServer, tmp_path: Path
) -> None:
    out = tmp_path / "xqcow.json"
    proc = await streamscope(
        tmp_path, "capture", "https://www.twitch.tv/xqcow", "--format", "json", "-o", str(out),
        STREAMSCOPE_TWITCH_IRC_URL=twitch_irc_server.url,
    )  # fmt: skip
    try:
        await twitch_irc_server.wait_joined(["xqcow"], timeout_s=TIMEOUT)
        await twitch_irc_server.play(LINES[:700], lines_per_frame=25)
        want = expected(LINES[:700])
        async with asyncio.timeout(TIMEOUT):  # every message written (the file is flushed per batch)
            while out.read_bytes().count(b'"message_id"') < len(want):
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output(tmp_path)
    assert read_file("json", out.read_bytes()) == want
    size = out.stat().st_size
    assert f"captured {len(want)} messages ({size} bytes)" in output(tmp_path)
    assert f"to {out}: stopped by Ctrl-C" in output(tmp_path)


async def test_vod_to_max_messages(twitch_gql_server: TwitchGqlServer, tmp_path: Path) -> None:
    twitch_gql_server.add_video("482736163", "xqcow", "71092938", LINES)
    out = tmp_path / "vod.csv"
    proc = await streamscope(
        tmp_path, "capture", "https://www.twitch.tv/videos/482736163", "-f", "csv", "-n", "100",
        "-o", str(out),
        STREAMSCOPE_TWITCH_GQL_URL=twitch_gql_server.url,
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0, output(tmp_path)
    privmsgs = sorted((privmsg(x) for x in LINES if " PRIVMSG " in x), key=lambda m: m["timestamp"])
    assert read_file("csv", out.read_bytes()) == [{**m, "is_action": False} for m in privmsgs[:100]]
    assert "captured 100 messages" in output(tmp_path)
    assert "--max-messages reached" in output(tmp_path)


#: Limits that cut a batch: the first message only, and counts inside a frame of 20 live lines
#: (the frames of :func:`test_live_max_messages_that_cut_a_batch`) and inside a 50-comment VOD page.
MID_BATCH = {1: "json", 137: "csv", 301: "jsonl"}


async def test_live_max_messages_that_cut_a_batch(twitch_irc_server: TwitchIrcServer, tmp_path: Path) -> None:
    runs = {}
    for n, fmt in MID_BATCH.items():
        (tmp_path / f"n{n}").mkdir()
        out = tmp_path / f"n{n}" / f"xqcow.{fmt}"
        runs[n] = out, await streamscope(
            tmp_path / f"n{n}", "capture", "https://www.twitch.tv/xqcow", "-f", fmt, "-n", str(n),
            "-o", str(out), STREAMSCOPE_TWITCH_IRC_URL=twitch_irc_server.url,
        )  # fmt: skip
    lines = LINES[:1200]
    play: asyncio.Task[None] | None = None
    try:
        server = twitch_irc_server
        await server.wait_until(
            lambda: sum("xqcow" in c.channels for c in server.open_connections) == len(runs), TIMEOUT
        )
        play = asyncio.create_task(twitch_irc_server.play(lines, lines_per_frame=20, join_timeout_s=TIMEOUT))
        for n, (out, proc) in runs.items():
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0, output(tmp_path / f"n{n}")
            assert read_file(MID_BATCH[n], out.read_bytes()) == expected(lines)[:n]
            assert f"captured {n} messages ({out.stat().st_size} bytes)" in output(tmp_path / f"n{n}")
            assert "--max-messages reached" in output(tmp_path / f"n{n}")
    finally:
        for _, proc in runs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if play is not None:
            play.cancel()
            await asyncio.gather(play, return_exceptions=True)


async def test_vod_max_messages_that_cut_a_page(twitch_gql_server: TwitchGqlServer, tmp_path: Path) -> None:
    twitch_gql_server.add_video("482736163", "xqcow", "71092938", LINES)
    privmsgs = sorted((privmsg(x) for x in LINES if " PRIVMSG " in x), key=lambda m: m["timestamp"])
    want = [{**m, "is_action": False} for m in privmsgs]
    runs = {}
    for n, fmt in MID_BATCH.items():
        (tmp_path / f"n{n}").mkdir()
        out = tmp_path / f"n{n}" / f"vod.{fmt}"
        runs[n] = out, await streamscope(
            tmp_path / f"n{n}", "capture", "https://www.twitch.tv/videos/482736163", "-f", fmt,
            "-n", str(n), "-o", str(out), STREAMSCOPE_TWITCH_GQL_URL=twitch_gql_server.url,
        )  # fmt: skip
    for n, (out, proc) in runs.items():
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0, output(tmp_path / f"n{n}")
        assert read_file(MID_BATCH[n], out.read_bytes()) == want[:n]
        assert f"captured {n} messages" in output(tmp_path / f"n{n}")
        assert "--max-messages reached" in output(tmp_path / f"n{n}")


async def test_an_unreachable_irc_server_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "xqcow.jsonl"
    proc = await streamscope(
        tmp_path, "capture", "https://www.twitch.tv/xqcow", "-f", "jsonl", "-o", str(out),
        STREAMSCOPE_TWITCH_IRC_URL=f"ws://127.0.0.1:{port}", STREAMSCOPE_CAPTURE_CONNECT_TIMEOUT_S="1",
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 2
    text = output(tmp_path)
    assert f"error: could not reach Twitch IRC at ws://127.0.0.1:{port} within 1 s (" in text, text
    assert "Traceback" not in text
    assert out.read_bytes() == b""


async def test_errors_are_one_sentence_and_exit_2(twitch_gql_server: TwitchGqlServer, tmp_path: Path) -> None:
    cases = [
        (
            ["https://example.com/chat"],
            "error: cannot capture 'https://example.com/chat'; give a Twitch channel",
        ),
        (
            ["https://www.twitch.tv/xqcow", "--format", "xml"],
            "error: unknown format 'xml'; use one of json, jsonl",
        ),
        (
            ["https://www.twitch.tv/videos/5"],
            "error: Twitch has no video 5 (deleted, expired or never existed)",
        ),
    ]
    for args, message in cases:
        out = tmp_path / "never.json"
        proc = await streamscope(
            tmp_path, "capture", *args, "-o", str(out), STREAMSCOPE_TWITCH_GQL_URL=twitch_gql_server.url
        )
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 2
        text = output(tmp_path)
        assert message in text, text
        assert "Traceback" not in text
        if "videos/5" not in args[0]:
            assert not out.exists()  # refused before anything was written
        else:
            assert json.loads(out.read_bytes()) == []
