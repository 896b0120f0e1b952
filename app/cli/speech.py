"""What ``up --transcribe`` and the speech commands share: the dataflows to run, the audio captures
of the channels, and the one-line errors of a missing extra, model or stream."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from streamscope import topics
from streamscope.app.audio import NotAudio, audio_capture, audio_source, channel_audio_url
from streamscope.app.captures import Capture
from streamscope.app.cli.common import CliError
from streamscope.app.runtime import DATAFLOWS, ON_REQUEST, Runtime
from streamscope.pipelines.transport import Publisher
from streamscope.pipelines.whisper import WhisperConfig, load_model
from streamscope.settings import Settings
from streamscope.sources.audio import MissingExtra, require
from streamscope.sources.audio.twitch import NoStream

T = TypeVar("T")


def speech_guard(fn: Callable[[], T]) -> T:
    """``fn()``, with a missing extra or model, or an unreadable source, turned into a :class:`CliError`."""
    try:
        return fn()
    except (MissingExtra, NotAudio, NoStream) as exc:
        raise CliError(str(exc)) from None


def transcribe_dataflows(runtime: Runtime) -> list[str]:
    """The default dataflows plus transcripts, once the speech extra and model are known to load."""
    require("av")
    load_model(WhisperConfig.from_settings(runtime.settings))
    return [n for n in DATAFLOWS if n not in ON_REQUEST] + ["transcripts"]


def audio_captures(
    settings: Settings, logins: Sequence[str], publisher: Callable[[topics.Topic, str], Publisher]
) -> list[Capture]:
    """One audio capture per channel, from ``settings.twitch_audio_url``."""
    publish = publisher(topics.AUDIO_CHUNKS, "audio").publish
    now = int(time.time() * 1000)
    return [
        audio_capture(
            f"audio #{login}",
            audio_source(channel_audio_url(settings.twitch_audio_url, login), login, publish, start_ms=now),
        )
        for login in logins
    ]
