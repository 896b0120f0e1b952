"""URL resolution: which capture each kind of URL asks for, and a clear refusal for the rest."""

from __future__ import annotations

import pytest

from streamscope.capture import SUPPORTED, UnsupportedUrl, resolve


@pytest.mark.parametrize(
    ("url", "kind", "ident", "name"),
    [
        ("https://www.twitch.tv/xqcow", "twitch_live", "xqcow", "xqcow"),
        ("https://twitch.tv/XQCOW/", "twitch_live", "xqcow", "xqcow"),
        ("twitch.tv/pajlada?referrer=raid", "twitch_live", "pajlada", "pajlada"),
        ("https://m.twitch.tv/forsen", "twitch_live", "forsen", "forsen"),
        ("https://www.twitch.tv/videos/1602009987", "twitch_vod", "1602009987", "vod-1602009987"),
        ("https://www.twitch.tv/videos/1602009987?t=1h2m", "twitch_vod", "1602009987", "vod-1602009987"),
        ("https://www.twitch.tv/xqcow/video/482736163", "twitch_vod", "482736163", "vod-482736163"),
        (
            "https://clips.twitch.tv/FastThankfulLobsterEagleEye-SFi4SJWaTkAYu-B3",
            "twitch_clip",
            "FastThankfulLobsterEagleEye-SFi4SJWaTkAYu-B3",
            "clip-FastThankfulLobsterEagleEye-SFi4SJWaTkAYu-B3",
        ),
        ("https://www.twitch.tv/xqcow/clip/AwkwardHelplessSalamanderSwiftRage", "twitch_clip",
         "AwkwardHelplessSalamanderSwiftRage", "clip-AwkwardHelplessSalamanderSwiftRage"),
        ("https://clips.twitch.tv/embed?clip=SomeSlug&parent=x", "twitch_clip", "SomeSlug", "clip-SomeSlug"),
        ("https://www.youtube.com/watch?v=jfKfPfyJRdk", "youtube", "jfKfPfyJRdk", "yt-jfKfPfyJRdk"),
        ("https://youtube.com/watch?feature=share&v=jfKfPfyJRdk", "youtube", "jfKfPfyJRdk", "yt-jfKfPfyJRdk"),
        ("https://youtu.be/jfKfPfyJRdk?t=10", "youtube", "jfKfPfyJRdk", "yt-jfKfPfyJRdk"),
        ("https://www.youtube.com/live/jfKfPfyJRdk", "youtube", "jfKfPfyJRdk", "yt-jfKfPfyJRdk"),
    ],
)  # fmt: skip
def test_supported_urls(url: str, kind: str, ident: str, name: str) -> None:
    target = resolve(url)
    assert (target.kind, target.id, target.name, target.url) == (kind, ident, name, url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/xqcow",
        "https://www.twitch.tv/",
        "https://www.twitch.tv/directory",
        "https://www.twitch.tv/videos/notanumber",
        "https://www.twitch.tv/a-b",  # not a login
        "https://www.twitch.tv/xqcow/about",
        "https://clips.twitch.tv/embed?clip=bad%22slug",  # would break out of the GraphQL string
        "https://www.youtube.com/watch?v=tooshort",
        "https://www.youtube.com/channel/UCabc",
        "ftp://www.twitch.tv/xqcow",
        "",
        "http://[::1",
    ],
)
def test_unsupported_urls_say_what_is_supported(url: str) -> None:
    with pytest.raises(UnsupportedUrl) as err:
        resolve(url)
    assert str(err.value).endswith(f"give {SUPPORTED}")
