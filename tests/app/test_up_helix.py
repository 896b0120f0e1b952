"""``streamscope up`` (a real subprocess) with and without Helix credentials.

With them it polls the loopback Helix server (real clock, real HTTP) and the API serves the viewer
samples and the stream session, which gets its end once the stream vanishes from /streams; without
them it says once that viewer counts need credentials and captures chat anonymously.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from streamscope.app.captures import NO_CREDENTIALS
from streamscope.sources.helix.clock import WallClock
from tests.app.test_up import free_port
from tests.fixtures.helix_server import NINJA_PAGE, HelixServer, recorded, synthetic_streams
from tests.fixtures.twitch_irc_server import TwitchIrcServer


async def start_up(
    tmp_path: Path, env: dict[str, str], *args: str
) -> tuple[asyncio.subprocess.Process, Any, int]:
    port = free_port()
    log = (tmp_path / "up.log").open("wb")  # a file, not a pipe
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamscope.app.cli", "up", *args, "--port", str(port),
        env={**os.environ, "STREAMSCOPE_CLICKHOUSE_URL": f"chdb://{tmp_path / 'warehouse'}",
             "STREAMSCOPE_SINK_FLUSH_INTERVAL_S": "0.2", **env},
        stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    return proc, log, port


async def stop(proc: asyncio.subprocess.Process, log: Any) -> None:
    if proc.returncode is None:
        proc.send_signal(2)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    log.close()


async def poll_json(
    client: httpx.AsyncClient, url: str, ok: Callable[[Any], bool], timeout_s: float = 60
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            r = await client.get(url)
            last = r.json() if r.headers.get("content-type") == "application/json" else r.text
            if r.status_code == 200 and ok(last):
                return last
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise AssertionError(f"{url} never satisfied the check; last answer: {last}")


async def test_up_without_credentials_says_so(twitch_irc_server: TwitchIrcServer, tmp_path: Path) -> None:
    env = {"STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url}
    env_clean = {k: "" for k in ("STREAMSCOPE_TWITCH_CLIENT_ID", "STREAMSCOPE_TWITCH_CLIENT_SECRET")}
    proc, log, _port = await start_up(tmp_path, {**env, **env_clean}, "--channel", "xqcow")
    try:
        await twitch_irc_server.wait_joined(["xqcow"], timeout_s=60)
    finally:
        await stop(proc, log)
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-2000:]
    assert output.count(NO_CREDENTIALS) >= 1
    assert "viewer samples" not in output


async def test_up_discover_without_credentials_is_an_error(tmp_path: Path) -> None:
    proc, log, _port = await start_up(
        tmp_path, {"STREAMSCOPE_TWITCH_CLIENT_ID": "", "STREAMSCOPE_TWITCH_CLIENT_SECRET": ""}, "--discover"
    )
    await asyncio.wait_for(proc.wait(), 60)
    log.close()
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 2
    assert (
        "error: --discover needs STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET (Helix lists live streams)"
        in output
    )


async def test_up_polls_helix_and_closes_the_vanished_session(
    twitch_irc_server: TwitchIrcServer, helix_server_factory: Callable[..., HelixServer], tmp_path: Path
) -> None:
    helix = helix_server_factory(WallClock())
    ninja = recorded(NINJA_PAGE)["data"][0]
    helix.state.put(ninja)
    env = {
        "STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url,
        "STREAMSCOPE_TWITCH_HELIX_URL": helix.helix_url,
        "STREAMSCOPE_TWITCH_AUTH_URL": helix.auth_url,
        "STREAMSCOPE_TWITCH_CLIENT_ID": helix.state.client_id,
        "STREAMSCOPE_TWITCH_CLIENT_SECRET": helix.state.client_secret,
        "STREAMSCOPE_HELIX_POLL_INTERVAL_S": "1",
    }
    proc, log, port = await start_up(tmp_path, env, "--channel", "ninja", "--status-every", "1")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            viewers = await poll_json(
                client,
                "/v1/channels/ninja/viewers?step=1h",
                lambda b: sum(p["samples"] for p in b["points"]) >= 2,
            )
            assert {p["max"] for p in viewers["points"]} == {72124}
            del helix.state.streams["ninja"]  # the stream ends: absent from the next /streams answer
            ended_at = helix.state.clock.now() * 1000
            streams = await poll_json(
                client, "/v1/channels/ninja/streams", lambda b: b["streams"] and not b["streams"][0]["live"]
            )
    finally:
        await stop(proc, log)
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-2000:]
    (session,) = streams["streams"]
    assert (session["id"], session["end_reason"], session["peak_viewers"]) == (
        "27833742640",
        "vanished",
        72124,
    )
    assert session["started_at"] == 1520348865000
    assert ended_at <= session["ended_at"] <= ended_at + 10_000
    assert session["segments"] == [
        {"at": 1520348865000, "title": ninja["title"], "game_id": "33214", "game": "Tekken"}
    ]
    assert NO_CREDENTIALS not in output
    requested = [q["user_login"] for _, q in helix.streams_requests()]
    assert requested and all(r == ["ninja"] for r in requested)
    assert helix.state.tokens_issued == ["tok0001"]  # one app token for the whole run
    assert "stream session rows" in output
    assert "progress: helix 1 channels tracked" in output


async def test_up_discover_joins_the_top_live_channels(
    twitch_irc_server: TwitchIrcServer, helix_server_factory: Callable[..., HelixServer], tmp_path: Path
) -> None:
    helix = helix_server_factory(WallClock())
    helix.state.put(*synthetic_streams(5))  # viewers 50, 40, 30, 20, 10
    env = {
        "STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url,
        "STREAMSCOPE_TWITCH_HELIX_URL": helix.helix_url,
        "STREAMSCOPE_TWITCH_AUTH_URL": helix.auth_url,
        "STREAMSCOPE_TWITCH_CLIENT_ID": helix.state.client_id,
        "STREAMSCOPE_TWITCH_CLIENT_SECRET": helix.state.client_secret,
        "STREAMSCOPE_HELIX_POLL_INTERVAL_S": "1",
    }
    proc, log, port = await start_up(
        tmp_path, env, "--discover", "--min-viewers", "20", "--max-channels", "2", "--channel", "mine"
    )
    try:
        await twitch_irc_server.wait_joined(["mine", "chan00000", "chan00001"], timeout_s=60)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await poll_json(client, "/v1/channels/chan00001/streams", lambda b: len(b["streams"]) == 1)
    finally:
        await stop(proc, log)
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-2000:]
    assert "chan00002" not in twitch_irc_server.joined_channels()
    # The poller asks for the pinned channel and the discovered ones.
    polled = {tuple(q["user_login"]) for _, q in helix.streams_requests() if "user_login" in q}
    assert ("mine", "chan00000", "chan00001") in polled
