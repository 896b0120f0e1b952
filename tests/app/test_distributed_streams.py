"""Distributed mode for the Twitch API side, with real processes: ``streamscope source helix`` →
Apache Kafka → ``streamscope up --kafka`` (the streams dataflow with recovery + the API on chDB).

The Helix peer is the loopback server of ``tests/fixtures/helix_server.py`` serving the recorded
``GET /streams`` answer, with the viewer count changed between polls. The dataflow process is
killed with SIGKILL between two polls; after the restart the session state (kept in Bytewax's
recovery store) still knows the stream, and closes it when the stream vanishes from /streams. The
session's samples, peak and average must be exactly those of the answers that showed the stream
live (the Helix topic has 3 partitions, so polls also reach the dataflow out of order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from streamscope.sources.helix.clock import WallClock
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


class Script:
    """Changes what the server answers for ninja, noting from which request on, so that what every
    request was answered is known exactly (the server logs and answers a request under its lock)."""

    def __init__(self, helix: HelixServer) -> None:
        self.helix = helix
        self.item = recorded(NINJA_PAGE)["data"][0]
        self.marks: list[tuple[int, int | None]] = []

    def serve(self, viewers: int | None) -> None:
        """From the next request on, ninja is live with ``viewers`` (None: not live)."""
        state = self.helix.state
        with state.lock:
            if viewers is None:
                state.streams.pop("ninja", None)
            else:
                state.streams["ninja"] = dict(self.item, viewer_count=viewers)
            self.marks.append((len(state.requests), viewers))

    def answers(self) -> list[tuple[float, int | None]]:
        """(server time, viewers answered or None) of every /streams request for ninja."""
        with self.helix.state.lock:
            requests = list(self.helix.state.requests)
        out = []
        for i, (t, path, query) in enumerate(requests):
            if path == "/helix/streams" and query.get("user_login") == ["ninja"]:
                out.append((t, [v for n, v in self.marks if n <= i][-1]))
        return out

    def wait_polls(self, count: int, stack: Stack, timeout_s: float = 60) -> None:
        """Until ``count`` requests were answered since the last change."""
        since = self.marks[-1][0]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.helix.state.lock:
                seen = sum(1 for _, path, _ in self.helix.state.requests[since:] if path == "/helix/streams")
            if seen >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"the source did not poll {count} times:\n{stack.logs()}")


def test_helix_source_through_kafka_survives_a_dataflow_kill(
    stack: Stack, helix_server_factory: Callable[..., HelixServer]
) -> None:
    helix = helix_server_factory(WallClock())
    script = Script(helix)
    script.serve(72124)  # the recorded answer
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
    script.serve(80000)
    script.wait_polls(2, stack)
    kill9(up)
    script.serve(65000)  # polls go on into Kafka while the dataflow is down
    script.wait_polls(2, stack)
    stack.up()
    script.serve(91000)
    script.wait_polls(2, stack)
    script.serve(None)  # the stream ends: absent from the next /streams answers
    script.wait_polls(1, stack)

    answers = script.answers()
    seen = [v for _, v in answers if v is not None]
    ended_poll = next(t for t, v in answers if v is None)
    assert set(seen) == {72124, 80000, 65000, 91000}
    assert [v is None for _, v in answers] == sorted(v is None for _, v in answers)  # live, then gone
    expected = {
        "id": "27833742640", "end_reason": "vanished", "live": False, "started_at": 1520348865000,
        "samples": len(seen), "peak_viewers": max(seen), "avg_viewers": round(sum(seen) / len(seen), 3),
    }  # fmt: skip

    def session(body: Any) -> dict[str, Any]:
        (s,) = body["streams"]
        return {k: s[k] for k in expected}

    # Every answer that showed the stream is one sample, counted into the session once: none lost
    # while the dataflow was down, none doubled by the re-read after the kill, none left out for
    # arriving after a later poll. (A late one may still be on its way when the session closes.)
    closed = poll(stack, "/v1/channels/ninja/streams", lambda b: session(b) == expected)
    (stored,) = closed["streams"]
    # Ended at the first poll that did not find it (the poll time is when its answer arrived).
    assert ended_poll * 1000 <= stored["ended_at"] <= ended_poll * 1000 + 5000
    viewers = poll(stack, "/v1/channels/ninja/viewers?step=1h", lambda b: bool(b["points"]))
    assert sum(p["samples"] for p in viewers["points"]) == len(seen)
    assert max(p["max"] for p in viewers["points"]) == max(seen)

    # More polls find it gone: the session stays closed as it was.
    script.serve(None)
    script.wait_polls(3, stack)
    time.sleep(3)  # the dataflow snapshots every second and flushes every 0.2 s
    again = poll(stack, "/v1/channels/ninja/streams", lambda b: bool(b["streams"]))
    assert again["streams"][0] == stored
    assert source.poll() is None, stack.logs()
    assert helix.state.tokens_issued == ["tok0001"]
