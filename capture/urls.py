"""Which capture a URL asks for: a live Twitch channel, a Twitch VOD or clip, or a YouTube video.

:func:`resolve` is the only entry point; anything it does not understand raises
:class:`UnsupportedUrl` whose message lists what is supported (the API turns it into a 400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Kind = Literal["twitch_live", "twitch_vod", "twitch_clip", "youtube"]

SUPPORTED = (
    "a Twitch channel (https://www.twitch.tv/LOGIN), a Twitch VOD (https://www.twitch.tv/videos/ID), "
    "a Twitch clip (https://clips.twitch.tv/SLUG or https://www.twitch.tv/LOGIN/clip/SLUG), "
    "or a YouTube live stream or replay (https://www.youtube.com/watch?v=ID, https://youtu.be/ID, "
    "https://www.youtube.com/live/ID)"
)

_LOGIN = re.compile(r"[A-Za-z0-9_]{1,25}")
_VIDEO_ID = re.compile(r"[0-9]{1,20}")
# Clip slugs are CamelCase words plus an optional "-random" suffix; nothing else is accepted, which
# also keeps them safe to embed in the clip GraphQL query.
_CLIP_SLUG = re.compile(r"[A-Za-z0-9_-]{1,100}")
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_TWITCH_HOSTS = {"twitch.tv", "www.twitch.tv", "m.twitch.tv"}
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
# First path segments of twitch.tv that are pages, not channels.
_TWITCH_RESERVED = {
    "directory", "downloads", "jobs", "login", "signup", "p", "settings", "subscriptions", "inventory",
    "wallet", "search", "friends", "messages", "turbo", "prime", "store", "videos", "clip", "popout",
    "moderator", "drops", "team", "following",
}  # fmt: skip


class UnsupportedUrl(ValueError):
    """The URL names nothing streamscope can capture; the message says what is supported."""


@dataclass(frozen=True, slots=True)
class Target:
    """What to capture: ``kind`` and the platform's id for it (login, video id, clip slug, video id)."""

    kind: Kind
    id: str
    url: str
    """The URL as given."""

    @property
    def name(self) -> str:
        """A short, file-name-safe name for downloads (``xqcow``, ``vod-123``, ``clip-Slug``, ``yt-ID``)."""
        prefix = {"twitch_live": "", "twitch_vod": "vod-", "twitch_clip": "clip-", "youtube": "yt-"}
        return f"{prefix[self.kind]}{self.id}"


def resolve(url: str) -> Target:
    """The capture ``url`` asks for; raises :class:`UnsupportedUrl` otherwise."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        raise UnsupportedUrl(f"{url!r} is not a URL; give {SUPPORTED}") from None
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    target: Target | None = None
    if parts.scheme in ("http", "https"):
        if host in _TWITCH_HOSTS:
            target = _twitch(segments, url)
        elif host == "clips.twitch.tv":
            target = _clip_host(segments, parts.query, url)
        elif host in _YOUTUBE_HOSTS:
            target = _youtube(segments, parts.query, url)
        elif host == "youtu.be" and len(segments) == 1:
            target = _youtube_id(segments[0], url)
    if target is None:
        raise UnsupportedUrl(f"cannot capture {url!r}; give {SUPPORTED}")
    return target


def _twitch(segments: list[str], url: str) -> Target | None:
    if len(segments) == 1 and segments[0].lower() not in _TWITCH_RESERVED and _LOGIN.fullmatch(segments[0]):
        return Target("twitch_live", segments[0].lower(), url)
    if len(segments) == 2 and segments[0] == "videos" and _VIDEO_ID.fullmatch(segments[1]):
        return Target("twitch_vod", segments[1], url)
    if len(segments) == 3 and segments[1] in ("video", "v") and _VIDEO_ID.fullmatch(segments[2]):
        return Target("twitch_vod", segments[2], url)
    if len(segments) == 3 and segments[1] == "clip" and _CLIP_SLUG.fullmatch(segments[2]):
        return Target("twitch_clip", segments[2], url)
    return None


def _clip_host(segments: list[str], query: str, url: str) -> Target | None:
    if segments == ["embed"]:
        slug = (parse_qs(query).get("clip") or [""])[0]
        return Target("twitch_clip", slug, url) if _CLIP_SLUG.fullmatch(slug) else None
    if len(segments) == 1 and _CLIP_SLUG.fullmatch(segments[0]):
        return Target("twitch_clip", segments[0], url)
    return None


def _youtube(segments: list[str], query: str, url: str) -> Target | None:
    if segments == ["watch"]:
        return _youtube_id((parse_qs(query).get("v") or [""])[0], url)
    if len(segments) == 2 and segments[0] in ("live", "shorts", "embed"):
        return _youtube_id(segments[1], url)
    return None


def _youtube_id(video_id: str, url: str) -> Target | None:
    return Target("youtube", video_id, url) if _YOUTUBE_ID.fullmatch(video_id) else None
