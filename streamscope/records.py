"""The records that travel on the bus between sources and pipelines.

Sources only capture: a :class:`RawLine` is exactly what the platform sent, plus where and when it
was received. Parsing happens downstream, so raw data can always be re-processed after a fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RawLine:
    """One raw Twitch IRC line as received.

    ``channel`` is the channel login without ``#`` (the bus key; empty for connection-level lines
    such as PING or GLOBALUSERSTATE). ``line`` has no trailing CR/LF. ``received_at`` is Unix epoch
    milliseconds on the capturing machine's clock (a replay derives it from the recording so that
    re-replays are deterministic). ``source`` names the capture, e.g. ``irc`` or ``replay``.
    """

    channel: str
    line: str
    received_at: int
    source: str


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One raw JSON payload from the Twitch API as received (EventSub frame or Helix response).

    ``channel`` is the broadcaster login the payload belongs to (the bus key; empty when it covers
    many channels, as a Helix ``/streams`` page does). ``payload`` is the JSON text exactly as
    received (Helix: the envelope of :data:`streamscope.topics.HELIX_STREAMS`). ``kind`` names what it
    is (``stream.online``, ``channel.chat.message``, ``helix.streams``, ...); ``received_at`` is Unix
    epoch milliseconds; ``source`` names the capture (``eventsub``, ``helix``).
    """

    channel: str
    kind: str
    payload: str
    received_at: int
    source: str


#: Sample rate of every :class:`AudioChunk` (Whisper's input rate).
AUDIO_SAMPLE_RATE = 16_000
#: Bytes per millisecond of :class:`AudioChunk` PCM (16 kHz mono s16le).
AUDIO_BYTES_PER_MS = AUDIO_SAMPLE_RATE * 2 // 1000
#: The longest chunk a source publishes: 10 s of PCM is 320,000 bytes, well under Kafka's 1 MB
#: default ``message.max.bytes``.
AUDIO_MAX_CHUNK_MS = 10_000


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A run of stream audio as captured, decoded: 16 kHz mono signed 16-bit little-endian PCM.

    ``started_at`` is the absolute time of the first sample (Unix epoch ms: from HLS
    ``EXT-X-PROGRAM-DATE-TIME`` when the playlist has it, else the receive time; for a file, the time
    it is said to start at). ``pcm`` holds at most :data:`AUDIO_MAX_CHUNK_MS` of audio, an even
    number of bytes. ``live`` says the audio is happening now (a live stream), so a transcriber that
    falls too far behind may skip it and record a gap; a file's chunks (``live=False``) are waited
    for, never skipped. ``received_at`` is when the source produced the chunk (epoch ms).
    """

    channel: str
    started_at: int
    pcm: bytes
    source: str
    live: bool = True
    received_at: int = 0

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) // AUDIO_BYTES_PER_MS

    @property
    def ended_at(self) -> int:
        return self.started_at + self.duration_ms
