"""The file source: PyAV decodes and resamples a stereo clip and a 44.1 kHz clip to 16 kHz mono,
checked against the WAV samples read with the standard library and resampled with numpy."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from streamscope.records import AUDIO_BYTES_PER_MS, AudioChunk
from streamscope.sources.audio.file import FileAudioSource
from streamscope.sources.audio.pcm import DecodeError
from tests.data import JFK_WAV, STEREO_WAV


def reference_16k_mono(path: Path) -> np.ndarray:
    """The oracle: the WAV's int16 samples, channels averaged, linearly resampled to 16 kHz."""
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    mono = samples.reshape(-1, channels).mean(axis=1)
    n = int(len(mono) * 16000 / rate)
    return np.interp(np.arange(n) * rate / 16000, np.arange(len(mono)), mono)


@pytest.mark.parametrize(("path", "rate", "channels"), [(STEREO_WAV, 16000, 2), (JFK_WAV, 44100, 1)])
def test_file_source_publishes_16k_mono_chunks_at_absolute_times(
    path: Path, rate: int, channels: int
) -> None:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels()) == (rate, channels)  # the case this test is about
    got: list[AudioChunk] = []
    start = 1_700_000_000_000
    stats = FileAudioSource(str(path), "chan", got.extend, start_ms=start, chunk_ms=2000).run()
    expected = reference_16k_mono(path)
    decoded = np.frombuffer(b"".join(c.pcm for c in got), "<i2").astype(np.float64)
    assert abs(len(decoded) - len(expected)) <= 16  # within 1 ms
    assert stats.audio_ms == sum(c.duration_ms for c in got)
    # Contiguous chunks of at most 2 s from the given start, not live (a file waits for the model).
    at = start
    for c in got:
        assert c.started_at == at and c.duration_ms <= 2000 and not c.live and c.source == "file"
        at += len(c.pcm) // AUDIO_BYTES_PER_MS
    n = min(len(decoded), len(expected))
    assert np.corrcoef(decoded[:n], expected[:n])[0, 1] > 0.98


def test_a_file_without_audio_is_a_decode_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(DecodeError):
        FileAudioSource(str(junk), "chan", lambda chunks: None, start_ms=0).run()
