"""Live (or ended) HLS audio → :class:`~streamscope.records.AudioChunk` records.

:class:`HlsAudioSource` follows a playlist the way a player does (RFC 8216 §6.3): it reloads the
media playlist about every half target duration, fetches each segment it has not seen (by media
sequence number), decodes it with PyAV and publishes its PCM, one or more chunks per segment,
starting at the segment's absolute time: its ``EXT-X-PROGRAM-DATE-TIME`` when the playlist has one,
else the time the first segment was received, continued by the decoded durations.

Contract and pitfalls:
* ``run()`` blocks until the playlist ends (``EXT-X-ENDLIST`` and every segment read: a clean end)
  or :meth:`stop` is called; ``publish`` may block (backpressure) and never drops.
* A segment that cannot be fetched or decoded is skipped, counted (``stats.skipped``, metric
  ``audio_segments_skipped``) and logged; the rest flows on, and the transcriber sees a hole in time.
* A stall — the playlist not answering, or no new segment for three target durations — reconnects:
  the URL is resolved again (``resolve``, e.g. streamlink for Twitch) after a backoff that doubles up
  to ``max_backoff_s`` and resets once segments flow again.
* On its first load of a live playlist it reads every segment listed (a restart re-reads what it may
  already have published; the transcriber drops audio before what it stored).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from streamscope import metrics
from streamscope.records import AUDIO_BYTES_PER_MS, AudioChunk
from streamscope.sources.audio.pcm import Chunker, DecodeError, decode
from streamscope.sources.audio.playlist import MasterPlaylist, MediaPlaylist, PlaylistError, parse, pick_audio

log = logging.getLogger(__name__)


@dataclass(slots=True)
class HlsStats:
    """Counters of a run: segments published, segments skipped (not fetched or not decoded),
    reconnects (after a stall or an error), audio published in ms, and whether ``EXT-X-ENDLIST``
    ended it."""

    segments: int = 0
    skipped: int = 0
    reconnects: int = 0
    audio_ms: int = 0
    ended: bool = False


class HlsAudioSource:
    """Reads the HLS stream at ``resolve()`` for ``channel`` into ``publish`` (see the module docstring)."""

    def __init__(
        self,
        resolve: Callable[[], str],
        channel: str,
        publish: Callable[[Sequence[AudioChunk]], None],
        *,
        source: str = "hls",
        client: httpx.Client | None = None,
        max_backoff_s: float = 30.0,
        stall_after_s: float | None = None,
        request_timeout_s: float = 10.0,
    ) -> None:
        self._resolve = resolve
        self._publish = publish
        self._chunker = Chunker(channel, source, live=True)
        self.source = source
        self._client = client or httpx.Client(timeout=request_timeout_s, follow_redirects=True)
        self._own_client = client is None
        self._max_backoff = max_backoff_s
        self._stall_after = stall_after_s
        self._stop = threading.Event()
        self.stats = HlsStats()
        self._next_seq: int | None = None
        self._next_at: int | None = None  # where audio without a date-time continues (epoch ms)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> HlsStats:
        """Read until the stream ends or :meth:`stop`; returns what was read."""
        backoff = 0.5
        try:
            while not self._stop.is_set():
                try:
                    url = self._media_url(self._resolve())
                    if self._follow(url):
                        self.stats.ended = True
                        return self.stats
                    reason = "stalled"
                except (httpx.HTTPError, PlaylistError) as exc:
                    reason = str(exc) or type(exc).__name__
                if self._stop.is_set():
                    break
                self.stats.reconnects += 1
                metrics.AUDIO_RECONNECTS.labels(source=self.source).inc()
                log.warning("HLS stream %s: %s; reconnecting in %.1fs", self.source, reason, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            return self.stats
        finally:
            if self._own_client:
                self._client.close()

    def _get(self, url: str) -> httpx.Response:
        response = self._client.get(url)
        response.raise_for_status()
        return response

    def _media_url(self, url: str) -> str:
        playlist = parse(self._get(url).text, url)
        if isinstance(playlist, MasterPlaylist):
            variant = pick_audio(playlist)
            log.info("HLS: reading variant %s (%s)", variant.name or variant.uri, variant.codecs or "?")
            return variant.uri
        return url

    def _follow(self, url: str) -> bool:
        """Read the media playlist at ``url``: True once it ended, False when it stalled."""
        last_new = time.monotonic()
        while not self._stop.is_set():
            playlist = parse(self._get(url).text, url)
            if isinstance(playlist, MasterPlaylist):
                raise PlaylistError("expected a media playlist, got a master playlist")
            new = self._read_new(playlist)
            if new:
                last_new = time.monotonic()
            if playlist.ended and not new:
                return True
            target = playlist.target_duration_s or 2.0
            stall = self._stall_after if self._stall_after is not None else 3 * target
            if time.monotonic() - last_new > stall:
                return False
            if not new:
                self._stop.wait(max(0.1, target / 2))
        return False

    def _read_new(self, playlist: MediaPlaylist) -> int:
        fresh = [s for s in playlist.segments if self._next_seq is None or s.sequence >= self._next_seq]
        if (
            self._next_seq is not None
            and playlist.segments
            and playlist.segments[0].sequence > self._next_seq
        ):
            log.warning(
                "HLS: segments %d..%d slid out of the playlist before they were read",
                self._next_seq, playlist.segments[0].sequence - 1,
            )  # fmt: skip
        for seg in fresh:
            if self._stop.is_set():
                break
            self._next_seq = seg.sequence + 1
            received = int(time.time() * 1000)
            try:
                pcm = decode(self._get(seg.uri).content)
            except (httpx.HTTPError, DecodeError) as exc:
                self.stats.skipped += 1
                metrics.AUDIO_SEGMENTS_SKIPPED.labels(source=self.source).inc()
                log.warning("HLS: skipped segment %d (%s): %s", seg.sequence, seg.uri[-80:], exc)
                if self._next_at is not None:
                    self._next_at += round(seg.duration_s * 1000)
                continue
            if seg.program_date_time is not None:
                start = seg.program_date_time
            elif self._next_at is not None and not seg.discontinuity:
                start = self._next_at
            else:
                start = received
            self._next_at = start + len(pcm) // AUDIO_BYTES_PER_MS
            self.stats.segments += 1
            self.stats.audio_ms += len(pcm) // AUDIO_BYTES_PER_MS
            metrics.AUDIO_SECONDS.labels(source=self.source).inc(len(pcm) / AUDIO_BYTES_PER_MS / 1000)
            self._publish(self._chunker.add(start, pcm))
        return len(fresh)
