"""Distributed mode for the Twitch API side, with real processes: ``streamscope source helix`` →
Apache Kafka → ``streamscope up --kafka`` (the streams dataflow with recovery + the API on chDB).

The Helix peer is the loopback server of ``tests/fixtures/helix_server.py`` serving the recorded
``GET /streams`` answer. The dataflow process is killed with SIGKILL between two polls; after the
restart the session state (kept in Bytewax's recovery store) still knows the stream, and closes it
when the stream vanishes from /streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from sources.helix.clock import WallClock
from tests.fixtures.helix_server import NINJA_PAGE, HelixServer, recorded
from tests.fixtures.stack import Stack, kill9


def poll(stack: Stack, path: str, ok: Callable[[Any], bool], timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(stack.base + path, timeout=10)
            last = r.json()
            if r.status_code == 200 and ok(last):
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{path} never satisfied the check; last answer: {last}\n{stack.logs()}")


def test_helix_source_through_kafka_survives_a_dataflow_kill(
    stack: Stack, helix_server_factory: Callable[..., HelixServer]
) -> None:
    helix = helix_server_factory(WallClock())
    ninja = recorded(NINJA_PAGE)["data"][0]
    helix.state.put(ninja)
    stack.env.update(
        {
            "STREAMSCOPE_TWITCH_HELIX_URL": helix.helix_url,
            "STREAMSCOPE_TWITCH_AUTH_URL": helix.auth_url,
            "STREAMSCOPE_TWITCH_CLIENT_ID": helix.state.client_id,
            "STREAMSCOPE_TWITCH_CLIENT_SECRET": helix.state.client_secret,
            "STREAMSCOPE_HELIX_POLL_INTERVAL_S": "1",
        }
    )
    up = stack.up()
    source = stack.spawn("source-helix", "source", "helix", "--channel", "ninja", "--status-every", "1")
    live = poll(stack, "/v1/channels/ninja/streams", lambda b: bool(b["streams"]) and b["streams"][0]["live"])
    assert live["streams"][0]["id"] == "27833742640"
    kill9(up)
    time.sleep(2)  # polls go on into Kafka while the dataflow is down
    stack.up()
    del helix.state.streams["ninja"]  # the stream ends: absent from the next /streams answer
    ended_after = helix.state.clock.now() * 1000
    closed = poll(stack, "/v1/channels/ninja/streams", lambda b: not b["streams"][0]["live"])
    assert source.poll() is None, stack.logs()
    (session,) = closed["streams"]
    assert (session["id"], session["end_reason"], session["peak_viewers"]) == (
        "27833742640",
        "vanished",
        72124,
    )
    assert session["started_at"] == 1520348865000
    assert ended_after <= session["ended_at"] <= ended_after + 10_000
    viewers = poll(stack, "/v1/channels/ninja/viewers?step=1h", lambda b: bool(b["points"]))
    samples = sum(p["samples"] for p in viewers["points"])
    polls_answered_live = sum(
        1 for t, q in helix.streams_requests() if q["user_login"] == ["ninja"] and t * 1000 < ended_after
    )
    # Every poll that saw the stream live is one sample: none lost while the dataflow was down,
    # none doubled by the re-read after the kill (the last poll before the end may race it by one).
    assert polls_answered_live - 1 <= samples <= polls_answered_live
    assert {p["max"] for p in viewers["points"]} == {72124}
    assert helix.state.tokens_issued == ["tok0001"]
