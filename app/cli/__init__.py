"""The ``streamscope`` command line: one module per group of commands, all on one Typer app.

Importing a command module registers its commands on :data:`app`.
"""

from __future__ import annotations

from streamscope.app.cli import (  # noqa: F401  (registers the commands)
    agent,
    api_sources,
    capture,
    db,
    distributed,
    export,
    grafana,
    ingest,
    pipelines,
    stats,
    transcribe,
)
from streamscope.app.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app()
