"""Anonymous Twitch IRC capture (read-only ``justinfan`` login over WebSocket).

Public API: :class:`TwitchIrcSource` and its :class:`IrcSourceStats`. The submodules are split by
concern: ``lines`` (framing, channel key), ``ratelimit`` (JOIN limit), ``outbox`` (hand-off to a
blocking publisher), ``websocket`` (one socket), ``source`` (sharding and lifecycle).
"""

from __future__ import annotations

from .lines import channel_of, normalize_channel, split_frame
from .source import IrcSourceStats, TwitchIrcSource

__all__ = ["IrcSourceStats", "TwitchIrcSource", "channel_of", "normalize_channel", "split_frame"]
