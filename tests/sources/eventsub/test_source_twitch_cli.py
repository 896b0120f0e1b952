"""EventSubSource against Twitch's own mock, ``twitch-cli event websocket start-server``.

Runs when ``scripts/twitch-cli`` can build the CLI (else skipped with the installer's reason, see
``twitch_cli_binary``). The mock has no ``channel.chat.*`` types in v1.1.25 and allows one
subscription per type per session, so one channel's stream subscriptions are used here; chat
frames are covered by test_source.py's peer. Events are made with ``twitch-cli event trigger
<type> --transport=websocket --session=<id> --to-user=<broadcaster id>``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from streamscope.records import RawEvent
from streamscope.sources.eventsub import EventSubSource
from tests.fixtures.eventsub_server import wait_until
from tests.fixtures.twitch_cli import TwitchEventSubWs

BROADCASTER = ("cool_user", "1337")


class Capture(list[RawEvent]):
    def __call__(self, batch: list[RawEvent]) -> None:
        self.extend(batch)


@pytest.fixture
async def running(twitch_eventsub_ws: TwitchEventSubWs) -> AsyncIterator[tuple[EventSubSource, Capture]]:
    capture = Capture()
    source = EventSubSource(
        dict([BROADCASTER]), capture, user_id="27620241", client_id="streamscope-test", token="mock-token",
        url=twitch_eventsub_ws.url, helix_url=twitch_eventsub_ws.helix_url, chat=False, backoff_initial_s=0.2,
    )  # fmt: skip
    task = asyncio.create_task(source.run())
    await wait_until(lambda: source.stats().subscriptions == 3 or task.done(), timeout=15)
    try:
        yield source, capture
    finally:
        await source.stop()
        await asyncio.wait_for(task, 10)


async def trigger(ws: TwitchEventSubWs, kind: str, session: str, *extra: str) -> None:
    args = [
        "event",
        "trigger",
        kind,
        "--transport=websocket",
        f"--session={session}",
        f"--to-user={BROADCASTER[1]}",
    ]
    done = await asyncio.to_thread(ws.cli, *args, *extra)
    assert done.returncode == 0, done.stderr + done.stdout


def check(event: RawEvent, kind: str, session: str) -> dict[str, object]:
    assert (event.channel, event.kind, event.source) == (BROADCASTER[0], kind, "eventsub")
    frame = json.loads(event.payload)
    assert frame["metadata"]["message_type"] == "notification"
    assert frame["metadata"]["subscription_type"] == kind
    assert frame["payload"]["subscription"]["transport"]["session_id"] == session
    assert frame["payload"]["event"]["broadcaster_user_id"] == BROADCASTER[1]
    return frame["payload"]["event"]  # type: ignore[no-any-return]


async def test_stream_events(
    twitch_eventsub_ws: TwitchEventSubWs, running: tuple[EventSubSource, Capture]
) -> None:
    source, capture = running
    session = source.stats().session_id
    assert session is not None and source.stats().subscribe_errors == 0
    await trigger(twitch_eventsub_ws, "stream.online", session)
    await trigger(twitch_eventsub_ws, "channel.update", session, "--version=2", "--description=Speedrun any%")
    await trigger(twitch_eventsub_ws, "stream.offline", session)
    await wait_until(lambda: len(capture) == 3)
    assert check(capture[0], "stream.online", session)["type"] == "live"
    assert check(capture[1], "channel.update", session)["title"] == "Speedrun any%"
    check(capture[2], "stream.offline", session)


async def test_reconnect_then_drop(
    twitch_eventsub_ws: TwitchEventSubWs, running: tuple[EventSubSource, Capture]
) -> None:
    source, capture = running
    first = source.stats().session_id
    assert first is not None
    # session_reconnect: the mock starts a new server and hands out its URL; subscriptions move along.
    reconnect = asyncio.create_task(
        asyncio.to_thread(twitch_eventsub_ws.cli, "event", "websocket", "reconnect")
    )
    await wait_until(lambda: source.stats().reconnects == 1, timeout=20)
    second = source.stats().session_id
    assert second not in (None, first) and source.stats().resubscribes == 0
    assert second is not None
    await trigger(twitch_eventsub_ws, "stream.online", second)
    await wait_until(lambda: len(capture) == 1)
    check(capture[0], "stream.online", second)
    assert (await reconnect).returncode == 0
    # A closed socket: a new session, every subscription created again, events flow again.
    closed = await asyncio.to_thread(
        twitch_eventsub_ws.cli, "event", "websocket", "close", f"--session={second}", "--reason=4006"
    )
    assert closed.returncode == 0, closed.stderr + closed.stdout
    await wait_until(
        lambda: source.stats().resubscribes == 1 and source.stats().subscriptions == 3, timeout=20
    )
    third = source.stats().session_id
    assert third not in (None, first, second) and third is not None
    await trigger(twitch_eventsub_ws, "stream.offline", third)
    await wait_until(lambda: len(capture) == 2)
    check(capture[1], "stream.offline", third)
