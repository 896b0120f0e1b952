"""The topics between sources and pipelines: the contract other processes build on.

Every topic is named here with its key, value format, headers, partition count and retention, and
the same names are used by the in-process bus (embedded mode) and by Kafka (distributed mode).
Sources publish what the platform sent, unparsed; pipelines parse. A Kafka message's timestamp is
the record's receive time (Unix epoch milliseconds, ``CreateTime``), so no header repeats it.

Keys are the channel login (lower case, no ``#``) wherever a record belongs to one channel, so one
channel's records stay in order on one partition and channels spread across partitions by hash.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the contract.

    ``name``: the Kafka topic (and in-process bus topic) name. ``key``/``value``/``headers``: what a
    message carries, in words (documentation that the README repeats). ``partitions`` and
    ``retention_ms`` are used when streamscope creates the topic because it is missing; an existing
    topic is never altered.
    """

    name: str
    key: str
    value: str
    headers: tuple[str, ...]
    partitions: int
    retention_ms: int


IRC_RAW = Topic(
    name="twitch.irc.raw",
    key="channel login (empty for connection-level lines such as PING)",
    value="one raw Twitch IRC line as received, UTF-8, without CR/LF",
    headers=("source: which capture produced it (irc, replay, ...)",),
    partitions=6,
    retention_ms=7 * DAY_MS,
)
EVENTSUB_RAW = Topic(
    name="twitch.eventsub.raw",
    key="broadcaster login",
    value="one EventSub notification message as received (the whole JSON frame, UTF-8)",
    headers=("source: eventsub", "subscription-type: e.g. stream.online"),
    partitions=6,
    retention_ms=7 * DAY_MS,
)
HELIX_STREAMS = Topic(
    name="twitch.helix.streams",
    key="none (one message per Helix request, covering up to 100 channels)",
    value='JSON {"polled_at": ms, "logins": [requested logins], "body": <the Helix GET /streams body>}',
    headers=("source: helix",),
    partitions=3,
    retention_ms=7 * DAY_MS,
)
AUDIO_CHUNKS = Topic(
    name="twitch.audio.chunks",
    key="channel login",
    value="one chunk of stream audio: 16 kHz mono signed 16-bit little-endian PCM, no header, an even "
    "number of bytes, at most 10 s (320,000 bytes, well under Kafka's 1 MB message limit)",
    headers=(
        "source: the capture (hls, twitch, file)",
        "started-at: Unix epoch ms of the chunk's first sample (absolute stream time), decimal",
        "sample-rate: 16000",
        "live: 1 for a live stream (a lagging transcriber may skip it, recording a gap), 0 for a file",
    ),
    partitions=6,
    retention_ms=1 * DAY_MS,
)
DEAD_LETTERS = Topic(
    name="streamscope.dead_letters",
    key="the topic the message came from",
    value='JSON {"topic", "partition", "offset", "stage", "reason", "payload"} '
    "(payload as text, or base64 when it is not UTF-8)",
    headers=(),
    partitions=1,
    retention_ms=30 * DAY_MS,
)

ALL: tuple[Topic, ...] = (IRC_RAW, EVENTSUB_RAW, HELIX_STREAMS, AUDIO_CHUNKS, DEAD_LETTERS)
