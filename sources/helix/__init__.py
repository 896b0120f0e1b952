"""Helix sources: the ``/streams`` viewer poller and live-channel discovery (app access token)."""

from __future__ import annotations

from streamscope.sources.helix.client import HelixClient, HelixError
from streamscope.sources.helix.discovery import Discovery, DiscoveryFilters
from streamscope.sources.helix.poller import HelixStreamsPoller

__all__ = ["Discovery", "DiscoveryFilters", "HelixClient", "HelixError", "HelixStreamsPoller"]
