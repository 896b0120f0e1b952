"""One router module per resource; :data:`ROUTERS` is what :func:`streamscope.api.app.create_app` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from streamscope.api.routes import channels, chat_v10, downloads, export, health, streams

ROUTERS: tuple[APIRouter, ...] = (
    chat_v10.router,
    channels.router,
    streams.router,
    export.router,
    downloads.router,
    health.router,
)
