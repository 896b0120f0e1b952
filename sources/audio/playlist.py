"""HLS playlists (RFC 8216) as far as an audio capture needs them.

Master playlists: the variants (``EXT-X-STREAM-INF`` + URI) and the renditions (``EXT-X-MEDIA``);
:func:`pick_audio` prefers an audio-only variant (Twitch names it ``audio_only``; elsewhere a
variant whose ``CODECS`` are all audio), else the lowest bandwidth. Media playlists: the segments
with their media sequence number, ``EXTINF`` duration, ``EXT-X-PROGRAM-DATE-TIME`` (applied forward
to the following segments, RFC 8216 §4.3.2.6) and ``EXT-X-DISCONTINUITY``, plus
``EXT-X-TARGETDURATION`` and ``EXT-X-ENDLIST``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from streamscope.timeutil import iso_ms


class PlaylistError(ValueError):
    """Not an HLS playlist (no ``#EXTM3U`` first line), or a tag this parser cannot read."""


_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "mp3")


def attributes(text: str) -> dict[str, str]:
    """An attribute list (``BANDWIDTH=1,CODECS="mp4a.40.2"``) as a dict, quotes removed."""
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


@dataclass(frozen=True, slots=True)
class Variant:
    """One ``EXT-X-STREAM-INF`` rendition of a master playlist (``uri`` absolute)."""

    uri: str
    bandwidth: int
    codecs: str
    name: str  # Twitch's VIDEO="audio_only" / the NAME of its rendition, if any

    @property
    def audio_only(self) -> bool:
        codecs = [c.strip().lower() for c in self.codecs.split(",") if c.strip()]
        if self.name == "audio_only":
            return True
        return bool(codecs) and all(c.startswith(_AUDIO_CODECS) for c in codecs)


@dataclass(frozen=True, slots=True)
class MediaSegment:
    """One segment: ``program_date_time`` is epoch ms (None when the playlist has no date-time)."""

    uri: str
    sequence: int
    duration_s: float
    program_date_time: int | None
    discontinuity: bool


@dataclass(slots=True)
class MediaPlaylist:
    """A media playlist: its segments in order; ``ended`` once it has ``EXT-X-ENDLIST``."""

    target_duration_s: float
    media_sequence: int
    segments: list[MediaSegment] = field(default_factory=list)
    ended: bool = False


@dataclass(slots=True)
class MasterPlaylist:
    """A master playlist: the renditions to choose from."""

    variants: list[Variant] = field(default_factory=list)


def parse(text: str, base_url: str) -> MediaPlaylist | MasterPlaylist:
    """A master or media playlist; URIs made absolute against ``base_url``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise PlaylistError("not an HLS playlist (first line is not #EXTM3U)")
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        return _master(lines, base_url)
    return _media(lines, base_url)


def _master(lines: list[str], base_url: str) -> MasterPlaylist:
    names: dict[str, str] = {}
    for line in lines:
        if line.startswith("#EXT-X-MEDIA:"):
            a = attributes(line.split(":", 1)[1])
            if a.get("GROUP-ID"):
                names[a["GROUP-ID"]] = a.get("NAME", a["GROUP-ID"])
    out = MasterPlaylist()
    pending: dict[str, str] | None = None
    for line in lines:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = attributes(line.split(":", 1)[1])
        elif not line.startswith("#") and pending is not None:
            video = pending.get("VIDEO", "")
            out.variants.append(
                Variant(
                    urljoin(base_url, line),
                    int(pending.get("BANDWIDTH", "0") or 0),
                    pending.get("CODECS", ""),
                    names.get(video, video),
                )
            )
            pending = None
    return out


def _media(lines: list[str], base_url: str) -> MediaPlaylist:
    playlist = MediaPlaylist(target_duration_s=0.0, media_sequence=0)
    sequence: int | None = None
    duration: float | None = None
    pdt: int | None = None
    discontinuity = False
    for line in lines[1:]:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-TARGETDURATION":
            playlist.target_duration_s = float(value)
        elif tag == "#EXT-X-MEDIA-SEQUENCE":
            playlist.media_sequence = int(value)
        elif tag == "#EXTINF":
            duration = float(value.split(",", 1)[0])
        elif tag == "#EXT-X-PROGRAM-DATE-TIME":
            try:
                pdt = iso_ms(value)
            except ValueError:
                raise PlaylistError(f"bad EXT-X-PROGRAM-DATE-TIME {value[:40]!r}") from None
        elif tag == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif tag == "#EXT-X-ENDLIST":
            playlist.ended = True
        elif not line.startswith("#"):
            if sequence is None:
                sequence = playlist.media_sequence
            length = duration if duration is not None else playlist.target_duration_s
            playlist.segments.append(
                MediaSegment(urljoin(base_url, line), sequence, length, pdt, discontinuity)
            )
            sequence += 1
            # A date-time applies to its segment; the next ones follow on (RFC 8216 §4.3.2.6).
            pdt = None if pdt is None else pdt + round(length * 1000)
            duration, discontinuity = None, False
    return playlist


def pick_audio(master: MasterPlaylist) -> Variant:
    """The audio-only variant when offered, else the lowest bandwidth (all carry the same audio)."""
    if not master.variants:
        raise PlaylistError("master playlist lists no variants")
    audio = [v for v in master.variants if v.audio_only]
    return min(audio or master.variants, key=lambda v: v.bandwidth)
