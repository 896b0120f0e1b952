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
