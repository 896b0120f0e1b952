"""A Twitch channel live (or any URL streamlink knows) → the HLS URL of its audio, via streamlink.

streamlink's Twitch plugin asks Twitch for a playback token and returns the stream's renditions;
:func:`resolve_hls` takes ``audio_only`` when offered, else the lowest quality, and returns its
playlist URL, which :class:`~streamscope.sources.audio.hls.HlsAudioSource` reads (calling this again
on every reconnect: tokens expire). streamlink is part of the ``speech`` extra.
"""

from __future__ import annotations

from typing import Any

from streamscope.sources.audio import require


class NoStream(RuntimeError):
    """streamlink found no playable stream at the URL (offline channel, unknown site)."""


PREFERRED = ("audio_only", "audio", "worst")


def resolve_hls(url: str, *, options: dict[str, Any] | None = None) -> str:
    """The playlist URL of the best audio rendition streamlink finds at ``url``
    (``https://www.twitch.tv/NAME``). Raises :class:`NoStream` when it finds none."""
    streamlink = require("streamlink")
    session = streamlink.Streamlink(options=options or {})  # type: ignore[attr-defined]
    try:
        streams = session.streams(url)
    except streamlink.exceptions.StreamlinkError as exc:  # type: ignore[attr-defined]
        raise NoStream(f"streamlink could not open {url}: {exc}") from None
    if not streams:
        raise NoStream(f"no live stream at {url} (offline, or not a site streamlink knows)")
    for name in PREFERRED:
        if name in streams:
            stream = streams[name]
            break
    else:
        stream = next(iter(streams.values()))
    location = getattr(stream, "url", None)
    if not isinstance(location, str):
        raise NoStream(f"the stream at {url} is not HLS or HTTP ({type(stream).__name__})")
    return location


def twitch_url(channel: str) -> str:
    """The channel page streamlink resolves to the live HLS stream."""
    return f"https://www.twitch.tv/{channel}"
