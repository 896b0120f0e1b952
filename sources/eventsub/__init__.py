"""EventSub over WebSocket (authenticated; twitchio 3 subscription definitions): see :mod:`.source`."""

from __future__ import annotations

from .source import EventSubSource, EventSubStats

__all__ = ["EventSubSource", "EventSubStats"]
