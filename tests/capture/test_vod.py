"""Twitch VOD and clip chat replay against the loopback GQL server serving the #xqcow recording."""

from __future__ import annotations

import io
import json
import math
import socket
from typing import Any

import pytest

from streamscope.capture import Progress, SourceUnreachable, capture, resolve
from streamscope.capture.vod import HASHES, ReplayUnavailable
from streamscope.settings import Settings
from tests.capture.oracle import privmsg, read_file
from tests.data import FIXTURES, XQCOW
from tests.fixtures.twitch_gql_server import TwitchGqlServer
from tests.fixtures.twitch_irc_server import load_lines

LINES = load_lines(XQCOW)
PRIVMSGS = [line for line in LINES if " PRIVMSG " in line]
FIXTURE_PRIVMSGS = [
    line
    for path in sorted(FIXTURES.glob("*.log"))
    for line in load_lines(path)
    if " PRIVMSG " in line and all(f"{t}=" in line for t in (";id", "user-id", "tmi-sent-ts"))
]
START_MS = min(privmsg(line)["timestamp"] for line in PRIVMSGS)


def replay_order(lines: list[str]) -> list[dict[str, Any]]:
    """The PRIVMSGs as a VOD replays them: by send time (stable), without /me (GQL cannot tell)."""
    out = sorted((privmsg(line) for line in lines), key=lambda m: m["timestamp"])
    return [{**m, "is_action": False} for m in out]


@pytest.fixture
def gql(twitch_gql_server: TwitchGqlServer) -> TwitchGqlServer:
    twitch_gql_server.add_video("482736163", "xqcow", "71092938", LINES, start_ms=START_MS)
    twitch_gql_server.add_clip("SwiftRageClip-AbC123", "482736163", offset_s=60, duration_s=30.0)
    return twitch_gql_server


async def run(gql: TwitchGqlServer, url: str, fmt: str = "jsonl", **kw: Any) -> tuple[bytes, Progress, str]:
    fp = io.BytesIO()
    progress = Progress()
    reason = await capture(resolve(url), fmt, fp, Settings(twitch_gql_url=gql.url), progress=progress, **kw)
    return fp.getvalue(), progress, reason


async def test_vod_replay_is_every_comment_in_order_through_cursor_pages(gql: TwitchGqlServer) -> None:
    data, progress, reason = await run(gql, "https://www.twitch.tv/videos/482736163")
    want = replay_order(PRIVMSGS)
    assert reason == "end"
    assert progress.messages == len(want) == 4933
    assert read_file("jsonl", data) == want
    objects = [json.loads(line) for line in data.decode().split("\n") if line]
    assert {(o["channel"], o["channel_id"]) for o in objects} == {("xqcow", 71092938)}
    for o in objects:
        for emote in o["emotes"]:
            assert emote["text"] == o["message"][emote["start"] : emote["end"] + 1]

    # The protocol: metadata first, then the first page by offset, every next one by the cursor of
    # the previous page's last edge, each a persisted query with Twitch's hash.
    assert gql.requests[0] == [
        {
            "operationName": "VideoMetadata",
            "variables": {"channelLogin": "", "videoID": "482736163"},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASHES["VideoMetadata"]}},
        }
    ]
    pages = [r[0] for r in gql.requests[1:]]
    assert len(pages) == math.ceil(4933 / 50)
    assert pages[0]["variables"] == {"videoID": "482736163", "contentOffsetSeconds": 0}
    answers = [gql.answer([p])[0]["data"]["video"]["comments"]["edges"] for p in pages]
    for page, previous in zip(pages[1:], answers, strict=False):
        assert page["variables"] == {"videoID": "482736163", "cursor": previous[-1]["cursor"]}


async def test_max_messages_stops_paging(gql: TwitchGqlServer) -> None:
    data, progress, reason = await run(gql, "https://www.twitch.tv/videos/482736163", "csv", max_messages=120)
    assert (reason, progress.messages) == ("max_messages", 120)
    assert read_file("csv", data) == replay_order(PRIVMSGS)[:120]
    assert len(gql.requests) == 1 + 3  # metadata + the three pages that hold the first 120


async def test_clip_replay_is_the_chat_of_its_span(gql: TwitchGqlServer) -> None:
    data, progress, reason = await run(gql, "https://clips.twitch.tv/SwiftRageClip-AbC123", "json")
    in_span = [line for line in PRIVMSGS if 60 <= (privmsg(line)["timestamp"] - START_MS) // 1000 <= 90]
    assert reason == "end"
    assert progress.messages == len(in_span) > 100
    assert read_file("json", data) == replay_order(in_span)
    assert gql.requests[0] == {"query": gql.requests[0]["query"]}
    assert 'clip(slug: "SwiftRageClip-AbC123")' in gql.requests[0]["query"]
    assert gql.requests[1][0]["variables"] == {"videoID": "482736163", "contentOffsetSeconds": 60}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.twitch.tv/videos/1", "Twitch has no video 1 (deleted, expired or never existed)"),
        ("https://clips.twitch.tv/NoSuchClip", "Twitch has no clip NoSuchClip"),
    ],
)
async def test_unknown_vods_and_clips_fail_with_the_reason(
    gql: TwitchGqlServer, url: str, message: str
) -> None:
    with pytest.raises(ReplayUnavailable) as err:
        await run(gql, url, "json")
    assert str(err.value) == message


async def test_an_empty_json_file_is_still_valid_json_when_the_replay_fails(gql: TwitchGqlServer) -> None:
    fp = io.BytesIO()
    with pytest.raises(ReplayUnavailable):
        await capture(resolve("https://www.twitch.tv/videos/1"), "json", fp, Settings(twitch_gql_url=gql.url))
    assert json.loads(fp.getvalue()) == []


async def test_twitch_gql_trouble_is_retried_and_shown_in_the_progress(gql: TwitchGqlServer) -> None:
    gql.failures = [503, 429]  # the first request is answered 503, its retry 429, the next one normally
    data, progress, reason = await run(gql, "https://www.twitch.tv/videos/482736163", "csv", max_messages=60)
    assert (reason, progress.messages) == ("max_messages", 60)
    assert read_file("csv", data) == replay_order(PRIVMSGS)[:60]
    assert (progress.failed_attempts, progress.last_error) == (2, "Twitch GQL answered HTTP 429")
    assert [r[0]["operationName"] for r in gql.requests] == ["VideoMetadata"] + 2 * [
        "VideoCommentsByOffsetOrCursor"
    ]


@pytest.mark.parametrize(
    "url", ["https://www.twitch.tv/videos/482736163", "https://clips.twitch.tv/SwiftRageClip-AbC123"]
)
async def test_an_unreachable_gql_endpoint_fails_after_the_connect_timeout(url: str) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gql_url = f"http://127.0.0.1:{port}/gql"
    settings = Settings(twitch_gql_url=gql_url, capture_connect_timeout_s=1.2)
    fp, progress = io.BytesIO(), Progress()
    with pytest.raises(SourceUnreachable) as err:
        await capture(resolve(url), "json", fp, settings, progress=progress)
    # Backoff 0.5 s, then 1 s (cut to what is left of the 1.2 s): three attempts.
    assert (progress.failed_attempts, progress.last_error) == (3, "All connection attempts failed")
    assert str(err.value) == (
        f"could not reach Twitch GQL at {gql_url} within 1.2 s (3 failed attempts); "
        "the last error: All connection attempts failed"
    )
    assert json.loads(fp.getvalue()) == []


#: Cheers Twitch's GQL replay cannot reveal: a sponsored campaign's and channels' own cheermotes.
NOT_GLOBAL = ("Subway", "firstCheer", "shared9Cheer")


async def test_bits_are_summed_from_global_cheermote_words(twitch_gql_server: TwitchGqlServer) -> None:
    """Every PRIVMSG of the fixtures that cheered: GQL drops the ``bits`` tag; the words tell."""
    cheers = [line for line in FIXTURE_PRIVMSGS if ";bits=" in line]
    assert len(cheers) > 40
    twitch_gql_server.add_video("7", "pajlada", "11148817", cheers)
    data, _, _ = await run(twitch_gql_server, "https://www.twitch.tv/videos/7", "json")
    got = {m["message_id"]: m for m in json.loads(data)}
    for line in cheers:
        tags = dict(t.partition("=")[::2] for t in line[1:].split(" ", 1)[0].split(";"))
        text = privmsg(line)["message"]
        want = 0 if text.startswith(NOT_GLOBAL) else int(tags["bits"])
        assert got[tags["id"]]["bits"] == want, text
    assert sum(m["bits"] for m in got.values()) > 1000
