"""The Helix client and /streams poller against the loopback Helix server (fake clock) and twitch-cli."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
import pytest
from pydantic import SecretStr

from streamscope.records import RawEvent
from streamscope.sources.helix.client import HelixClient, HelixError
from streamscope.sources.helix.poller import HelixStreamsPoller, batches
from streamscope.twitch.helix import parse_envelope, parse_error
from tests.fixtures.helix_server import (
    FIRST_TOO_LARGE,
    NINJA_PAGE,
    SANDY_PAGE,
    UNAUTHORIZED,
    FakeClock,
    HelixServer,
    recorded,
    synthetic_streams,
)
from tests.fixtures.twitch_cli import TwitchMockApi

Factory = Callable[..., HelixServer]


class Published:
    def __init__(self) -> None:
        self.events: list[RawEvent] = []

    def __call__(self, events: Sequence[RawEvent]) -> None:
        self.events.extend(events)


def client_for(server: HelixServer, clock: FakeClock, **kwargs: object) -> HelixClient:
    return HelixClient(
        server.state.client_id,
        SecretStr(server.state.client_secret),
        helix_url=server.helix_url,
        auth_url=server.auth_url,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_batches_of_100() -> None:
    logins = [f"c{i}" for i in range(250)]
    assert [len(b) for b in batches(logins)] == [100, 100, 50]
    assert batches(logins)[2][-1] == "c249"


async def test_poller_batches_logins_and_publishes_envelopes(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    server.state.put(*synthetic_streams(250))
    server.state.put(*recorded(NINJA_PAGE)["data"])
    tracked = [f"chan{i:05d}" for i in range(250)] + ["ninja", "DrDisrespect", "nobody_live"]
    out = Published()
    poller = HelixStreamsPoller(tracked, out, client_for(server, clock), clock=clock)
    assert await poller.poll_once() == 3
    requested = [q["user_login"] for _, q in server.streams_requests()]
    assert [len(r) for r in requested] == [100, 100, 53]
    assert requested[2][-3:] == ["ninja", "drdisrespect", "nobody_live"]
    assert all(q["first"] == ["100"] for _, q in server.streams_requests())
    assert [e.kind for e in out.events] == ["helix.streams"] * 3
    polls = [parse_envelope(e.payload) for e in out.events]
    assert [len(p.samples) for p in polls] == [100, 100, 51]
    last = polls[2]
    assert last.logins == tuple(requested[2])
    ninja = next(s for s in last.samples if s.channel == "ninja")
    assert (ninja.channel_id, ninja.viewers, ninja.stream_id, ninja.game) == (
        19571641,
        72124,
        "27833742640",
        "Tekken",
    )
    assert ninja.started_at == 1520348865000  # 2018-03-06T15:07:45Z
    assert ninja.sampled_at == int(clock.now() * 1000) == out.events[2].received_at
    # The recorded DrDisrespect object has no user_login: rejected with the reason, page kept.
    assert [r[0] for r in last.rejected] == ["helix stream item: user_login missing"]
    assert server.state.tokens_issued == ["tok0001"]


def test_recorded_pages_parse() -> None:
    page = recorded(SANDY_PAGE)
    poll = parse_envelope(orjson.dumps({"polled_at": 5, "logins": [], "body": page}))
    # The recorded page lists the same stream twice: one sample.
    assert [(s.channel, s.channel_id, s.viewers, s.language) for s in poll.samples] == [
        ("sandysanderman", 98765, 78365, "es")
    ]
    assert poll.cursor == page["pagination"]["cursor"]
    assert poll.samples[0].started_at == 1615388661000  # 2021-03-10T15:04:21Z


def test_recorded_error_bodies() -> None:
    assert (
        str(parse_error(401, orjson.dumps(recorded(UNAUTHORIZED)))) == "401 Unauthorized: Invalid OAuth token"
    )
    err = parse_error(400, orjson.dumps(recorded(FIRST_TOO_LARGE)))
    assert (err.status, err.error) == (400, "Bad Request")
    assert err.message == 'The parameter "first" was malformed: the value must be less than or equal to 100'
    assert str(parse_error(502, b"<html>bad gateway</html>")) == "502 : <html>bad gateway</html>"


@pytest.mark.parametrize("payload", [b"nope", b"[]", b'{"polled_at": 1, "logins": [], "body": {"x": 1}}'])
def test_bad_envelopes_raise(payload: bytes) -> None:
    from streamscope.twitch.helix import HelixPayloadError

    with pytest.raises(HelixPayloadError):
        parse_envelope(payload)


async def test_token_refreshed_before_expiry_and_on_401(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock, token_ttl_s=400)
    async with client_for(server, clock, refresh_margin_s=300) as client:
        await client.get("/streams", [("first", "1")])
        clock.advance(99)
        await client.get("/streams", [("first", "1")])
        assert server.state.tokens_issued == ["tok0001"]
        clock.advance(2)  # 101 s after issue: within 300 s of the 400 s expiry
        await client.get("/streams", [("first", "1")])
        assert server.state.tokens_issued == ["tok0001", "tok0002"]
        server.state.revoked.add("tok0002")
        response = await client.get("/streams", [("first", "1")])
        assert response.status == 200
        assert server.state.tokens_issued == ["tok0001", "tok0002", "tok0003"]
        assert client.stats.token_fetches == 3


async def test_wrong_secret_is_a_clear_error_without_the_secret(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    client = HelixClient(
        server.state.client_id, SecretStr("wrong-secret-value"), helix_url=server.helix_url,
        auth_url=server.auth_url, clock=clock,
    )  # fmt: skip
    async with client:
        with pytest.raises(HelixError) as caught:
            await client.get("/streams", [])
    assert str(caught.value) == "app token refused: 403 : invalid client secret"
    assert "wrong-secret-value" not in repr(caught.value) + repr(client.__dict__)


async def test_rate_limit_headers_pace_requests_instead_of_429(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock, limit=60)  # 60 points, refilled at 1 point per second
    server.state.put(*synthetic_streams(3))
    async with client_for(server, clock) as client:
        start = clock.now()
        for _ in range(300):
            await client.get("/streams", [("first", "100")])
        elapsed = clock.now() - start
    assert client.stats.rate_limited == 0
    assert len(server.streams_requests()) == 300
    # 300 requests on a 60-point bucket refilling 1/s need at least 240 s; pacing stays near that.
    assert 240 <= elapsed <= 300
    # Never more than the bucket allows in any 60 s window (60 + 60 refilled).
    times = [t for t, _ in server.streams_requests()]
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= 120


async def test_429_waits_until_reset(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock, limit=60)
    async with client_for(server, clock) as client:
        await client.get("/streams", [])
        server.state._points = 0.2  # someone else emptied the bucket
        client.rate.remaining = 59  # and our last headers do not know it
        before = clock.now()
        response = await client.get("/streams", [])
    assert response.status == 200
    assert client.stats.rate_limited == 1
    assert len(server.streams_requests()) == 3  # ok, 429, ok: no hammering
    assert clock.now() - before >= 59  # waited for Ratelimit-Reset (bucket full again)


async def test_5xx_retried_with_capped_backoff(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    server.state.put(*recorded(NINJA_PAGE)["data"][:1])
    err = {"error": "Internal Server Error", "status": 500, "message": ""}
    server.state.script = [(503, err), (500, err), (502, err)]
    async with client_for(server, clock, max_backoff_s=0.8) as client:
        response = await client.get("/streams", [("user_login", "ninja")])
    assert orjson.loads(response.body)["data"][0]["viewer_count"] == 72124
    assert clock.slept == [0.5, 0.8, 0.8]
    assert client.stats.retries == 3


async def test_poller_skips_a_request_that_keeps_failing(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    server.state.put(*recorded(NINJA_PAGE)["data"][:1])
    err = {"error": "Service Unavailable", "status": 503, "message": ""}
    server.state.script = [(503, err)] * 3
    out = Published()
    poller = HelixStreamsPoller(["ninja"], out, client_for(server, clock, max_attempts=3), clock=clock)
    assert await poller.poll_once() == 0
    assert out.events == [] and poller.stats().failures == 1
    assert await poller.poll_once() == 1  # next round works again
    assert parse_envelope(out.events[0].payload).samples[0].viewers == 72124


async def test_poller_against_twitch_cli_mock_api(twitch_mock_api: TwitchMockApi) -> None:
    out = Published()
    client = HelixClient(
        twitch_mock_api.client_id, SecretStr(twitch_mock_api.client_secret),
        helix_url=twitch_mock_api.helix_url, auth_url=twitch_mock_api.auth_url,
    )  # fmt: skip
    logins = list(twitch_mock_api.live_logins) + ["streamscope_not_live"]
    poller = HelixStreamsPoller(logins, out, client)
    assert await poller.poll_once() == 1
    await client.aclose()
    poll = parse_envelope(out.events[0].payload)
    assert sorted(s.channel for s in poll.samples) == sorted(twitch_mock_api.live_logins)
    assert client.stats.token_fetches == 1


def test_absent_logins_are_those_no_item_names() -> None:
    page = recorded(NINJA_PAGE)  # ninja, and DrDisrespect without user_login (named by user_name)
    poll = parse_envelope(
        orjson.dumps({"polled_at": 1, "logins": ["ninja", "drdisrespect", "gone"], "body": page})
    )
    assert poll.absent() == ["gone"]
    page = {"data": [*page["data"], {"id": "1"}]}  # an item naming no channel: nobody is surely absent
    poll = parse_envelope(orjson.dumps({"polled_at": 1, "logins": ["ninja", "gone"], "body": page}))
    assert poll.absent() == []


async def test_client_secret_never_reaches_the_logs(
    helix_server_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    caplog.set_level("DEBUG")
    caplog.set_level("DEBUG", logger="httpx")  # whatever level an earlier test left it at
    async with client_for(server, clock) as client:
        await client.get("/streams", [])
    token_lines = [r.getMessage() for r in caplog.records if "/oauth2/token" in r.getMessage()]
    assert token_lines and all("client_secret=[redacted]" in line for line in token_lines)
    assert server.state.client_secret not in caplog.text
    assert "tok0001" not in caplog.text  # nor the token
