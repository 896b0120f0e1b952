"""Fixtures for the source tests: the loopback Twitch IRC server."""

from __future__ import annotations

from tests.fixtures.twitch_irc_server import twitch_irc_server, twitch_irc_server_factory

__all__ = ["twitch_irc_server", "twitch_irc_server_factory"]
