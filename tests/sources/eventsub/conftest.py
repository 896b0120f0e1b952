from __future__ import annotations

from tests.fixtures.eventsub_server import eventsub_server
from tests.fixtures.twitch_cli import twitch_eventsub_ws

__all__ = ["eventsub_server", "twitch_eventsub_ws"]
