"""TwitchIrcSource against the loopback Twitch IRC server, replaying real recorded chat."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest

from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.sources.twitch_irc import TwitchIrcSource, channel_of, normalize_channel, split_frame
from tests import data
from tests.fixtures.twitch_irc_server import TwitchIrcServer, channel_param, load_lines

XQCOW = load_lines(data.XQCOW)
PAJLADA = load_lines(data.PAJLADA)
FIXTURE_LINES = [line for f in sorted(data.FIXTURES.glob("*.log")) for line in load_lines(f)]

TIMEOUT = 30.0


class Collector:
    """A ``publish`` callable that records every batch (called from the source's worker thread)."""

    def __init__(self) -> None:
        self.batches: list[list[RawLine]] = []
        self._lock = threading.Lock()

    def __call__(self, batch: list[RawLine]) -> None:
        with self._lock:
            self.batches.append(list(batch))

    def records(self) -> list[RawLine]:
        with self._lock:
            return [r for b in self.batches for r in b]

    def replayed(self, channel: str, played: Sequence[str]) -> list[str]:
        """Lines of ``channel`` that came from the replay (not the server's JOIN answers), in order."""
        wanted = set(played)
        return [r.line for r in self.records() if r.channel == channel and r.line in wanted]


async def eventually(predicate: Callable[[], bool], timeout_s: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running(source: TwitchIrcSource) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(source.run())
    try:
        yield task
    finally:
        await asyncio.wait_for(source.stop(), TIMEOUT)
        await asyncio.wait_for(task, TIMEOUT)


def source_for(
    server: TwitchIrcServer, channels: list[str], publish: Collector, **kw: object
) -> TwitchIrcSource:
    kw.setdefault("backoff_initial_s", 0.05)
    return TwitchIrcSource(channels, publish, **(twitch_limits(server) | kw))  # type: ignore[arg-type]


def twitch_limits(server: TwitchIrcServer) -> dict[str, object]:
    """The source's connection settings as a fresh environment gives them, on ``server``."""
    settings = Settings(twitch_irc_url=server.url)
    return {
        "url": settings.twitch_irc_url,
        "channels_per_connection": settings.irc_channels_per_connection,
        "joins_per_window": settings.irc_joins_per_window,
        "join_window_s": settings.irc_join_window_s,
    }


def lines_of(lines: Sequence[str], channel: str) -> list[str]:
    return [line for line in lines if channel_param(line) == channel]


# -- framing helpers --------------------------------------------------------------------------


def test_split_frame_and_channel_key() -> None:
    assert split_frame("PING :tmi.twitch.tv\r\n:a!a@a PRIVMSG #x :hi #y\r\n") == [
        "PING :tmi.twitch.tv",
        ":a!a@a PRIVMSG #x :hi #y",
    ]
    assert channel_of(":a!a@a PRIVMSG #x :hi #y") == "x"
    assert channel_of(":j.tmi.twitch.tv 353 j = #pajlada :j") == "pajlada"
    assert channel_of("PING :tmi.twitch.tv") == ""
    assert [channel_of(line) for line in XQCOW] == ["xqcow"] * len(XQCOW)
    assert normalize_channel("#XQCow") == "xqcow"
    with pytest.raises(ValueError):
        normalize_channel("xqcow\r\nPRIVMSG #a :injected")


# -- protocol -----------------------------------------------------------------------------------


async def test_login_handshake_and_ping(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    out = Collector()
    source = source_for(server, ["xqcow"], out)
    async with running(source):
        await server.wait_joined(["xqcow"], TIMEOUT)
        client = server.connections[0]
        assert client.received[:2] == ["CAP REQ :twitch.tv/tags twitch.tv/commands", "PASS SCHMOOPIIE"]
        assert re.fullmatch(r"NICK justinfan\d+", client.received[2])
        assert client.received[3] == "JOIN #xqcow"
        assert client.caps == ["twitch.tv/tags", "twitch.tv/commands"]

        await server.ping(timeout_s=TIMEOUT)  # raises unless the client answers PONG
        assert client.received[-1] == "PONG :tmi.twitch.tv"
        await eventually(lambda: any(r.line == "PING :tmi.twitch.tv" for r in out.records()))

    records = out.records()
    nick = client.nick
    # Every line the server sent is published, control lines included, with its channel key.
    assert records[0] == RawLine(
        "", ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands", records[0].received_at, "irc"
    )
    assert any(r.line == f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!" and r.channel == "" for r in records)
    assert any(
        r.line == f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN #xqcow" and r.channel == "xqcow" for r in records
    )
    assert source.stats().connections == 0  # stop() closed the socket


async def test_idle_client_pings_and_replaces_a_silent_socket(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    server.answer_pings = False  # a half-open socket: the server side never answers again
    source = source_for(server, ["xqcow"], Collector(), idle_ping_s=0.2, pong_timeout_s=0.2)
    async with running(source):
        await eventually(lambda: len(server.connections) >= 2)
        assert "PING :tmi.twitch.tv" in server.connections[0].received
        await server.wait_joined(["xqcow"], TIMEOUT)
        assert source.stats().reconnects >= 1


# -- replay -------------------------------------------------------------------------------------


async def test_two_channels_replay_exactly_once_in_order(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    out = Collector()
    source = source_for(server, ["xqcow", "pajlada"], out)
    # Interleave the recordings so routing by channel is exercised; 5 lines per frame like Twitch.
    mixed = [line for pair in zip(XQCOW, PAJLADA, strict=False) for line in pair] + XQCOW[len(PAJLADA) :]
    assert len(mixed) == len(XQCOW) + len(PAJLADA)
    async with running(source):
        await server.wait_joined(["xqcow", "pajlada"], TIMEOUT)
        before = time.time_ns() // 1_000_000
        await asyncio.wait_for(server.play(mixed, lines_per_frame=5), TIMEOUT)
        await eventually(
            lambda: len(out.replayed("xqcow", XQCOW)) + len(out.replayed("pajlada", PAJLADA)) >= len(mixed)
        )
        after = time.time_ns() // 1_000_000

    assert out.replayed("xqcow", XQCOW) == XQCOW
    assert out.replayed("pajlada", PAJLADA) == PAJLADA
    by_line = {r.line: r for r in out.records()}
    assert all(by_line[line].channel == "xqcow" and by_line[line].source == "irc" for line in XQCOW)
    assert all(before <= by_line[line].received_at <= after for line in mixed)
    # Published in batches, not one call per line.
    assert len(out.batches) < len(mixed)
    assert source.stats().lines_received == len(out.records())


async def test_reconnect_mid_replay_rejoins_and_loses_nothing(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    out = Collector()
    source = source_for(server, ["xqcow"], out)
    async with running(source):
        await server.wait_joined(["xqcow"], TIMEOUT)
        await asyncio.wait_for(server.play(XQCOW[:2500]), TIMEOUT)
        await server.reconnect()
        # play() holds lines until the channel is joined again, i.e. until the client rejoined.
        await asyncio.wait_for(server.play(XQCOW[2500:]), TIMEOUT)
        await eventually(lambda: len(out.replayed("xqcow", XQCOW)) >= len(XQCOW))
        assert source.stats().reconnects == 1

    first, second = server.connections
    assert second.joined == ["xqcow"] and second.played == XQCOW[2500:]
    assert first.played == XQCOW[:2500]
    # A clean RECONNECT loses nothing: everything arrives once, in order, RECONNECT included.
    assert out.replayed("xqcow", XQCOW) == XQCOW
    assert [r.line for r in out.records()].count(":tmi.twitch.tv RECONNECT") == 1


async def test_dropped_socket_mid_replay_reconnects(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    out = Collector()
    source = source_for(server, ["xqcow"], out)
    async with running(source):
        await server.wait_joined(["xqcow"], TIMEOUT)
        await asyncio.wait_for(server.play(XQCOW[:2500]), TIMEOUT)
        await server.drop()
        await asyncio.wait_for(server.play(XQCOW[2500:]), TIMEOUT)
        await eventually(lambda: XQCOW[-1] in {r.line for r in out.records()})
        assert source.stats().reconnects == 1

    first, second = server.connections
    assert second.played == XQCOW[2500:]
    got = out.replayed("xqcow", XQCOW)
    # Written to the aborted socket may be lost (TCP discards it); everything sent after the
    # rejoin arrives, and nothing arrives twice or out of order.
    k = len(got) - len(second.played)
    assert 0 <= k <= len(first.played)
    assert got == first.played[:k] + second.played


# -- sharding and limits -----------------------------------------------------------------------


async def test_join_rate_limit_holds_across_connections(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    channels = [f"channel_{i:02d}" for i in range(30)]
    source = source_for(
        server, channels, Collector(), joins_per_window=5, join_window_s=1.0, channels_per_connection=10
    )
    async with running(source):
        await server.wait_joined(channels, TIMEOUT)
        await eventually(lambda: source.stats().joined_channels == 30)

    assert len(server.connections) == 3
    assert sorted(j.channel for j in server.joins) == channels
    times = sorted(j.at for j in server.joins)
    # At most 5 JOINs in any 1 s window <=> the 6th JOIN after any JOIN is >= 1 s later.
    gaps = [later - earlier for earlier, later in zip(times, times[5:], strict=False)]
    assert min(gaps) >= 1.0, gaps


async def test_channels_sharded_over_connections(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    out = Collector()
    channels = ["pajlada", "randers", "xqcow", "zneix", "tmijs", "supinic", "robcdee"]
    played = [line for line in FIXTURE_LINES if channel_param(line) in channels]
    source = source_for(server, channels, out, channels_per_connection=3)
    async with running(source):
        await server.wait_joined(channels, TIMEOUT)
        await asyncio.wait_for(server.play(played), TIMEOUT)
        await eventually(lambda: sum(len(out.replayed(c, played)) for c in channels) >= len(played))
        stats = source.stats()
        assert (stats.connections, stats.joined_channels, stats.channels) == (3, 7, 7)

    assert len(server.connections) == 3
    assert sorted(len(c.joined) for c in server.connections) == [1, 3, 3]
    for channel in channels:
        assert sum(channel in c.joined for c in server.connections) == 1
        assert out.replayed(channel, played) == lines_of(played, channel)


async def test_runtime_join_and_part(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server
    out = Collector()
    source = source_for(server, ["xqcow"], out)
    async with running(source):
        await server.wait_joined(["xqcow"], TIMEOUT)
        source.join("#PajLada")
        source.part("xqcow")
        await server.wait_until(lambda: server.joined_channels() == {"pajlada"}, TIMEOUT)
        await asyncio.wait_for(server.play(PAJLADA[:100]), TIMEOUT)
        await eventually(lambda: len(out.replayed("pajlada", PAJLADA)) >= 100)
        assert source.channels == ["pajlada"]
        assert source.stats().joined_channels == 1

    assert "PART #xqcow" in server.connections[0].received
    assert out.replayed("pajlada", PAJLADA) == PAJLADA[:100]


async def test_publish_failure_stops_run(twitch_irc_server: TwitchIrcServer) -> None:
    server = twitch_irc_server

    def broken(batch: list[RawLine]) -> None:
        raise RuntimeError("bus is gone")

    source = TwitchIrcSource(["xqcow"], broken, **twitch_limits(server))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="bus is gone"):
        await asyncio.wait_for(source.run(), TIMEOUT)


async def test_failed_connects_are_counted_with_the_last_error() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"ws://127.0.0.1:{port}"
    source = TwitchIrcSource(
        ["xqcow"], Collector(), url=url, channels_per_connection=90, joins_per_window=20, join_window_s=10,
        backoff_initial_s=0.05,
    )  # fmt: skip
    assert (source.stats().connect_failures, source.stats().last_connect_error) == (0, None)
    async with running(source):
        await eventually(lambda: source.stats().connect_failures >= 3)  # it keeps retrying
    stats = source.stats()
    assert (stats.connects, stats.connections) == (0, 0)
    assert stats.last_connect_error is not None and f"'127.0.0.1', {port})" in stats.last_connect_error
