"""streamscope: capture what happens on live streams and make it queryable forever."""

from __future__ import annotations

__version__ = "0.1.0"
