"""Which audio source reads a given location, and how it runs beside the other captures.

:func:`audio_source` maps what a user types to a source of :mod:`streamscope.sources.audio`:

* ``twitch:NAME`` or ``https://www.twitch.tv/NAME``: the live stream, its HLS URL resolved by
  streamlink (``audio_only`` when offered), resolved again on every reconnect;
* ``hls://URL`` or a URL whose path ends in ``.m3u8``: that HLS playlist;
* another ``http(s)://`` URL: what streamlink finds there (HLS), else the URL opened by FFmpeg;
* anything else: a local audio or video file.

HLS is live audio (absolute times from the playlist); files and plain URLs start at ``start_ms``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from streamscope.app.captures import SourceCapture
from streamscope.records import AudioChunk
from streamscope.sources.audio.file import FileAudioSource
from streamscope.sources.audio.hls import HlsAudioSource
from streamscope.sources.audio.twitch import NoStream, resolve_hls

AudioSource = HlsAudioSource | FileAudioSource
Publish = Callable[[Sequence[AudioChunk]], None]


class NotAudio(ValueError):
    """The location is neither a file nor a URL an audio source can read (one sentence)."""


def _is_twitch(location: str) -> bool:
    host = urlsplit(location).hostname or ""
    return location.startswith("twitch:") or host in ("twitch.tv", "www.twitch.tv", "m.twitch.tv")


def audio_source(location: str, channel: str, publish: Publish, *, start_ms: int) -> AudioSource:
    """The source of ``location`` (see the module docstring) publishing ``channel``'s audio."""
    if location.startswith("twitch:"):
        page = f"https://www.twitch.tv/{location.split(':', 1)[1].strip('/')}"
        return HlsAudioSource(lambda: resolve_hls(page), channel, publish, source="twitch")
    if _is_twitch(location):
        return HlsAudioSource(lambda: resolve_hls(location), channel, publish, source="twitch")
    if location.startswith("hls://"):
        url = location[len("hls://") :]
        url = url if url.startswith(("http://", "https://")) else f"https://{url}"
        return HlsAudioSource(lambda: url, channel, publish, source="hls")
    parts = urlsplit(location)
    if parts.scheme in ("http", "https"):
        if parts.path.endswith(".m3u8"):
            return HlsAudioSource(lambda: location, channel, publish, source="hls")
        try:
            resolved = resolve_hls(location)
        except NoStream:
            return FileAudioSource(location, channel, publish, start_ms=start_ms, source="url")
        if urlsplit(resolved).path.endswith(".m3u8"):
            return HlsAudioSource(lambda: resolve_hls(location), channel, publish, source="hls")
        return FileAudioSource(resolved, channel, publish, start_ms=start_ms, source="url")
    if not os.path.isfile(location):
        raise NotAudio(
            f"{location[:200]} is not a file, an hls:// or .m3u8 URL, a twitch:NAME or an http(s) URL"
        )
    return FileAudioSource(location, channel, publish, start_ms=start_ms, source="file")


def channel_audio_url(template: str, channel: str) -> str:
    """``settings.twitch_audio_url`` for ``channel``."""
    return template.replace("{channel}", channel)


def describe(source: AudioSource) -> str:
    """One progress line of a running audio source."""
    if isinstance(source, HlsAudioSource):
        s = source.stats
        return (
            f"audio ({source.source}): {s.audio_ms / 1000:.0f}s in {s.segments} segments, "
            f"{s.skipped} skipped, {s.reconnects} reconnects"
        )
    return f"audio (file): {source.stats.audio_ms / 1000:.0f}s decoded"


def audio_capture(name: str, source: AudioSource) -> SourceCapture:
    """``source`` as a capture of the capture loop (run on a worker thread: decoding blocks)."""

    async def run() -> None:
        await asyncio.to_thread(source.run)

    async def stop() -> None:
        source.stop()

    return SourceCapture(name, run, stop, lambda: describe(source))
