from __future__ import annotations

from tests.fixtures.twitch_cli import twitch_eventsub_ws

__all__ = ["twitch_eventsub_ws"]
