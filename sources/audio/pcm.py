"""Decoding with PyAV into 16 kHz mono s16le PCM, and cutting PCM into timed chunks.

:func:`decode` turns any container FFmpeg reads (MPEG-TS with AAC as HLS serves it, WAV, FLAC, MP3,
a video file, ...) into PCM at Whisper's rate; FFmpeg's resampler mixes stereo down to mono.
:class:`Chunker` cuts a run of PCM at absolute times into :class:`~streamscope.records.AudioChunk`
records of at most ``AUDIO_MAX_CHUNK_MS`` (the topic's contract).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from streamscope.records import AUDIO_BYTES_PER_MS, AUDIO_MAX_CHUNK_MS, AUDIO_SAMPLE_RATE, AudioChunk
from streamscope.sources.audio import require

log = logging.getLogger(__name__)


class DecodeError(ValueError):
    """The media could not be decoded (no audio stream, corrupt data)."""


def _av() -> Any:
    return require("av")


def _resampler() -> Any:
    return _av().AudioResampler(format="s16", layout="mono", rate=AUDIO_SAMPLE_RATE)


def _pcm(frames: list[Any]) -> bytes:
    return b"".join(bytes(f.to_ndarray().tobytes()) for f in frames)


def iter_pcm(source: str | io.BytesIO, *, stats: DecodeStats | None = None) -> Iterator[bytes]:
    """PCM of the first audio stream of ``source`` (a path, a URL FFmpeg opens, or bytes in a
    ``BytesIO``), in pieces as decoded. Packets that fail to decode are skipped and counted in
    ``stats.bad_packets``; no audio stream at all, or an unreadable container, is a :class:`DecodeError`."""
    av = _av()
    try:
        container = av.open(source, mode="r")
    except (av.error.FFmpegError, OSError) as exc:
        raise DecodeError(f"cannot open {_name(source)}: {exc}") from None
    with container:
        if not container.streams.audio:
            raise DecodeError(f"{_name(source)} has no audio stream")
        stream = container.streams.audio[0]
        resampler = _resampler()
        try:
            packets = container.demux(stream)
            for packet in packets:
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as exc:
                    if stats is not None:
                        stats.bad_packets += 1
                    log.debug("skipped an undecodable packet of %s: %s", _name(source), exc)
                    continue
                out = [r for f in frames for r in resampler.resample(f)]
                if out:
                    yield _pcm(out)
        except av.error.FFmpegError as exc:
            raise DecodeError(f"cannot read {_name(source)}: {exc}") from None
        tail = resampler.resample(None)
        if tail:
            yield _pcm(tail)


def decode(data: bytes) -> bytes:
    """All the PCM of one media segment held in memory; a :class:`DecodeError` when it has none."""
    pcm = b"".join(iter_pcm(io.BytesIO(data)))
    if not pcm:
        raise DecodeError("segment holds no decodable audio")
    return pcm


def _name(source: str | io.BytesIO) -> str:
    return "a media segment" if isinstance(source, io.BytesIO) else repr(str(source)[:200])


@dataclass(slots=True)
class DecodeStats:
    """Packets the decoder refused (skipped and counted, never fatal)."""

    bad_packets: int = 0


class Chunker:
    """Cuts PCM into :class:`AudioChunk` records of at most ``max_ms`` for one channel.

    ``add(started_at, pcm)`` returns the chunks of that run of audio: the first starts at
    ``started_at`` (epoch ms), the next ones where the previous ended. Each is stamped with the
    wall-clock time it was made (``received_at``).
    """

    def __init__(self, channel: str, source: str, *, live: bool, max_ms: int = AUDIO_MAX_CHUNK_MS) -> None:
        self.channel, self.source, self.live = channel, source, live
        self._step = max(1, min(max_ms, AUDIO_MAX_CHUNK_MS)) * AUDIO_BYTES_PER_MS

    def add(self, started_at: int, pcm: bytes) -> list[AudioChunk]:
        now = int(time.time() * 1000)
        if len(pcm) % 2:
            pcm = pcm[:-1]
        out = []
        for i in range(0, len(pcm), self._step):
            piece = pcm[i : i + self._step]
            at = started_at + i // AUDIO_BYTES_PER_MS
            out.append(AudioChunk(self.channel, at, piece, self.source, self.live, now))
        return out
