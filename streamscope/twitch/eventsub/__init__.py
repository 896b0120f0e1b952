"""Twitch EventSub over WebSocket: frame parsing (:mod:`.frames`), typed events (:mod:`.events`)
and the mapping of chat events onto the IRC warehouse rows (:mod:`.rows`).

Sources only capture frames as received (:class:`streamscope.records.RawEvent`, ``source='eventsub'``);
everything here runs in the pipelines, so stored frames can be re-processed after a fix.
"""

from __future__ import annotations

from streamscope.twitch.eventsub.frames import EventSubParseError, Frame, Session, parse_frame, timestamp_ms

__all__ = ["EventSubParseError", "Frame", "Session", "parse_frame", "timestamp_ms"]
