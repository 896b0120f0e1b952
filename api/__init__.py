"""The streamscope HTTP API: a FastAPI app built by :func:`streamscope.api.app.create_app`."""

from __future__ import annotations

from streamscope.api.app import create_app

__all__ = ["create_app"]
