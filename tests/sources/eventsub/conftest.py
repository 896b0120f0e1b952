from __future__ import annotations

from tests.fixtures.eventsub_server import eventsub_server

__all__ = ["eventsub_server"]
