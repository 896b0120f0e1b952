"""Discovery against the loopback Helix server: cursor paging, filters, joins and parts."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from streamscope.sources.helix.client import HelixClient
from streamscope.sources.helix.discovery import Discovery, DiscoveryFilters, parse_languages
from streamscope.sources.helix.poller import HelixStreamsPoller
from tests.fixtures.helix_server import FakeClock, HelixServer, synthetic_streams

Factory = Callable[..., HelixServer]


def make(
    server: HelixServer, clock: FakeClock, filters: DiscoveryFilters, **kw: object
) -> tuple[Discovery, list[str]]:
    calls: list[str] = []
    client = HelixClient(
        server.state.client_id, SecretStr(server.state.client_secret), helix_url=server.helix_url,
        auth_url=server.auth_url, clock=clock,
    )  # fmt: skip
    d = Discovery(
        client, filters, join=lambda c: calls.append(f"+{c}"), part=lambda c: calls.append(f"-{c}"),
        clock=clock, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return d, calls


async def test_top_channels_by_cursor_with_filters(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    streams = synthetic_streams(450)  # viewers 4500, 4490, ... 10
    for i, s in enumerate(streams):
        s["language"] = "de" if i % 3 == 0 else "en"
    server.state.put(*streams)
    d, calls = make(server, clock, DiscoveryFilters(min_viewers=1000, languages=("en",), max_channels=1000))
    result = await d.refresh()
    # en streams with >= 1000 viewers: i in 0..350 with i % 3 != 0
    want = [f"chan{i:05d}" for i in range(351) if i % 3 != 0]
    assert result.channels == want
    assert calls == [f"+{c}" for c in want]
    # 234 matches over pages of 100 (the page below 1000 viewers stops paging)
    requests = server.streams_requests()
    assert result.pages == len(requests) == 3
    assert [q.get("after") is None for _, q in requests] == [True, False, False]
    assert all(q["language"] == ["en"] and q["first"] == ["100"] for _, q in requests)
    await d.client.aclose()


async def test_refresh_parts_channels_that_left_and_feeds_the_poller(helix_server_factory: Factory) -> None:
    clock = FakeClock()
    server = helix_server_factory(clock)
    server.state.put(*synthetic_streams(5))
    poller = HelixStreamsPoller(
        [], lambda _: None, HelixClient("x", SecretStr("y"), helix_url="", auth_url="")
    )
    d, calls = make(server, clock, DiscoveryFilters(max_channels=3), poller=poller, pinned=["mine"])
    await d.refresh()
    assert calls == ["+chan00000", "+chan00001", "+chan00002"]
    del server.state.streams["chan00001"]
    calls.clear()
    await d.refresh()
    assert calls == ["-chan00001", "+chan00003"]
    assert poller.logins == ["mine", "chan00000", "chan00002", "chan00003"]
    await d.client.aclose()
    await poller.client.aclose()


def test_parse_languages() -> None:
    assert parse_languages(["en,DE", " fr ", "en", "other"]) == ("en", "de", "fr", "other")
    import pytest

    with pytest.raises(ValueError, match="'english' is not an ISO 639-1 code"):
        parse_languages(["english"])
