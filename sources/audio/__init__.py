"""Audio sources: stream audio decoded to 16 kHz mono PCM and published as
:class:`~streamscope.records.AudioChunk` records on ``twitch.audio.chunks``, keyed by channel, each with
the absolute time of its first sample.

* :mod:`.hls`: any HLS playlist (live or ended); absolute times from ``EXT-X-PROGRAM-DATE-TIME``
  when present, else the receive time. A broken segment is skipped, counted and logged; a stall
  reconnects with backoff; ``EXT-X-ENDLIST`` ends the source cleanly.
* :mod:`.twitch`: a Twitch channel live, its HLS URL resolved by streamlink (the ``audio_only``
  rendition when offered), then read as :mod:`.hls`.
* :mod:`.file`: a local audio or video file, or a URL FFmpeg can open.

Decoding and resampling use PyAV (FFmpeg's libraries in the wheel; no system ffmpeg), which comes
with the ``speech`` extra: without it the sources raise :class:`MissingExtra`, one sentence saying
what to install.
"""

from __future__ import annotations

import importlib


class MissingExtra(RuntimeError):
    """An optional dependency of speech capture/transcription is not installed (one sentence plus
    what to install)."""


SPEECH_EXTRA = "pip install 'streamscope[speech]'"


def require(module: str) -> object:
    """Import ``module`` (an optional dependency of the ``speech`` extra) or raise :class:`MissingExtra`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{module} is not installed: speech capture and transcription need the speech extra "
            f"({SPEECH_EXTRA})"
        ) from None
