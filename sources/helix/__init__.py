"""Helix sources: the ``/streams`` viewer poller and live-channel discovery (app access token)."""

from __future__ import annotations

from sources.helix.client import HelixClient, HelixError
from sources.helix.discovery import Discovery, DiscoveryFilters
from sources.helix.poller import HelixStreamsPoller

__all__ = ["Discovery", "DiscoveryFilters", "HelixClient", "HelixError", "HelixStreamsPoller"]
