"""The streamscope HTTP API: a FastAPI app built by :func:`api.app.create_app`."""

from __future__ import annotations

from api.app import create_app

__all__ = ["create_app"]
