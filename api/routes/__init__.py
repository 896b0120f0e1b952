"""One router module per resource; :data:`ROUTERS` is what :func:`streamscope.api.app.create_app` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from streamscope.api.routes import (
    agent,
    channels,
    chat_v10,
    downloads,
    export,
    health,
    live,
    moments,
    stats,
    streams,
    transcript,
)

ROUTERS: tuple[APIRouter, ...] = (
    chat_v10.router,
    channels.router,
    streams.router,
    stats.router,
    moments.router,
    transcript.router,
    live.router,
    export.router,
    downloads.router,
    health.router,
    agent.router,
)
