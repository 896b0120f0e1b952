"""Where the recorded Twitch data the tests and benchmarks read lives: ``tests/data`` in the repo.

Each top-level folder (``irc``, ``eventsub``, ``helix``, ``vod``) carries its ``SOURCES.md`` with the
origin and license of the files; the files are byte-identical copies of the recordings.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
IRC = DATA / "irc"
EVENTSUB = DATA / "eventsub"
HELIX = DATA / "helix"
VOD = DATA / "vod"
RECORDED = IRC / "recorded"
FIXTURES = IRC / "fixtures"
XQCOW = RECORDED / "xqcow_2019-09-15.log"
PAJLADA = RECORDED / "pajlada_userlog_2018_part1.log"

# Speech (issue 12): real audio clips with reference transcripts (audio/SOURCES.md).
AUDIO = DATA / "audio"
JFK_FLAC = AUDIO / "jfk" / "jfk.flac"  # 11.0 s, 44.1 kHz stereo FLAC
JFK_WAV = AUDIO / "jfk" / "jfk.wav"  # 11.0 s, 44.1 kHz mono WAV
JFK_TEXT = AUDIO / "jfk" / "jfk.txt"
GOFORWARD_WAV = AUDIO / "cmu_goforward" / "goforward.wav"  # 2.8 s, 16 kHz mono
GOFORWARD_TEXT = AUDIO / "cmu_goforward" / "goforward.txt"
STEREO_WAV = AUDIO / "faster_whisper_stereo" / "stereo_diarization.wav"  # 5.0 s, 16 kHz stereo
STEREO_TEXT = AUDIO / "faster_whisper_stereo" / "stereo_diarization.txt"
LIBRIVOX = AUDIO / "librivox_sense_and_sensibility"
_LIBRIVOX_NUMBERS = ("0870", "0880", "0890", "0920", "0930")
_LIBRIVOX_STEMS = [f"sense_and_sensibility_01_austen_64kb-{n}" for n in _LIBRIVOX_NUMBERS]
LIBRIVOX_CLIPS = tuple((LIBRIVOX / f"{stem}.wav", LIBRIVOX / f"{stem}.txt") for stem in _LIBRIVOX_STEMS)
