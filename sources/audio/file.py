"""A local audio or video file (or a URL FFmpeg opens) → :class:`~streamscope.records.AudioChunk` records.

:class:`FileAudioSource` decodes the first audio stream with PyAV, resamples it to 16 kHz mono and
publishes contiguous chunks, the first starting at ``start_ms`` (epoch ms: when the recording
began, so its transcript lands on the chat timeline). Chunks are ``live=False``: a transcriber waits
for them however long it takes, never skips them. ``run()`` returns once the whole file was
published; undecodable packets are skipped and counted (``stats.bad_packets``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from streamscope import metrics
from streamscope.records import AUDIO_BYTES_PER_MS, AudioChunk
from streamscope.sources.audio.pcm import Chunker, DecodeStats, iter_pcm

#: PCM published per chunk: 5 s (160,000 bytes).
CHUNK_MS = 5000


@dataclass(slots=True)
class FileStats:
    """What a run published: audio in ms, and packets that did not decode (skipped, counted)."""

    audio_ms: int = 0
    bad_packets: int = 0


class FileAudioSource:
    """Publishes the audio of ``location`` for ``channel`` (see the module docstring)."""

    def __init__(
        self,
        location: str,
        channel: str,
        publish: Callable[[Sequence[AudioChunk]], None],
        *,
        start_ms: int,
        source: str = "file",
        chunk_ms: int = CHUNK_MS,
    ) -> None:
        self.location = location
        self._publish = publish
        self._start = start_ms
        self._chunker = Chunker(channel, source, live=False, max_ms=chunk_ms)
        self._step = chunk_ms * AUDIO_BYTES_PER_MS
        self.source = source
        self.stats = FileStats()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> FileStats:
        decode_stats = DecodeStats()
        pending = bytearray()
        at = self._start
        for pcm in iter_pcm(self.location, stats=decode_stats):
            if self._stop.is_set():
                break
            pending += pcm
            while len(pending) >= self._step:
                at = self._emit(at, bytes(pending[: self._step]))
                del pending[: self._step]
        if pending and not self._stop.is_set():
            self._emit(at, bytes(pending))
        self.stats.bad_packets = decode_stats.bad_packets
        return self.stats

    def _emit(self, at: int, pcm: bytes) -> int:
        self._publish(self._chunker.add(at, pcm))
        ms = len(pcm) // AUDIO_BYTES_PER_MS
        self.stats.audio_ms += ms
        metrics.AUDIO_SECONDS.labels(source=self.source).inc(ms / 1000)
        return at + ms
