"""``streamscope up`` (a real subprocess) with a user token: EventSub stream events next to anonymous
IRC chat (EventSub chat is for ``streamscope source eventsub``, which replaces ``source irc``).

The EventSub peer is the loopback server of ``tests/fixtures/eventsub_server.py`` (Twitch's
documented WebSocket protocol, Helix ``/eventsub/subscriptions`` and ``/users``). It sends the
recorded chatterino2 frames with the broadcaster rewritten to the channel ``up`` follows (the
recorded ``GET /users`` answer knows sodapoppin, the recorded frames are for other channels).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.app.test_up_helix import poll_json, start_up, stop
from tests.data import EVENTSUB
from tests.fixtures.eventsub_server import EventSubServer, wait_until
from tests.fixtures.twitch_irc_server import TwitchIrcServer

WS = EVENTSUB / "chatterino2" / "ws-messages"
LOGIN, ID = "sodapoppin", "26301881"


def frame(name: str) -> str:
    """A recorded notification frame, moved to sodapoppin's channel."""
    doc: dict[str, Any] = json.loads((WS / f"{name}.json").read_text(encoding="utf-8"))
    event = doc["payload"]["event"]
    event.update(broadcaster_user_id=ID, broadcaster_user_login=LOGIN, broadcaster_user_name="sodapoppin")
    return json.dumps(doc)


async def test_up_captures_eventsub_with_a_user_token(
    twitch_irc_server: TwitchIrcServer, eventsub_server: EventSubServer, tmp_path: Path
) -> None:
    env = {
        "STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url,
        "STREAMSCOPE_TWITCH_CLIENT_ID": eventsub_server.client_id,
        "STREAMSCOPE_TWITCH_CLIENT_SECRET": "",
        "STREAMSCOPE_TWITCH_USER_TOKEN": eventsub_server.token,
        "STREAMSCOPE_TWITCH_EVENTSUB_URL": eventsub_server.url,
        "STREAMSCOPE_TWITCH_HELIX_URL": eventsub_server.helix_url,
    }
    proc, log, port = await start_up(tmp_path, env, "--channel", LOGIN, "--status-every", "1")
    try:
        await wait_until(lambda: sum(1 for s, _ in eventsub_server.requests if s == 202) == 3, timeout=60)
        subscribed = sorted(b["type"] for s, b in eventsub_server.requests if s == 202)
        # Stream events only: chat comes from IRC (EventSub chat too would store it twice).
        assert subscribed == ["channel.update", "stream.offline", "stream.online"]
        assert all(
            b["condition"]["broadcaster_user_id"] == ID for s, b in eventsub_server.requests if s == 202
        )
        for name in ("stream.online", "channel.update"):
            assert len(await eventsub_server.notify(frame(name))) == 1
        assert await eventsub_server.notify(frame("channel.chat.message")) == []  # not subscribed
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            live = await poll_json(client, f"/v1/channels/{LOGIN}/streams", lambda b: bool(b["streams"]))
            assert len(await eventsub_server.notify(frame("stream.offline"))) == 1
            ended = await poll_json(
                client, f"/v1/channels/{LOGIN}/streams", lambda b: not b["streams"][0]["live"]
            )
    finally:
        await stop(proc, log)
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    assert eventsub_server.token not in output
    (session,) = live["streams"]
    assert (session["id"], session["live"], session["started_at"]) == ("9001", True, 1602411072123)
    assert [s["title"] for s in session["segments"]][-1] == "Best Stream Ever"
    assert ended["streams"][0]["end_reason"] == "offline"
