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
