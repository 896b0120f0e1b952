"""What every command shares: the Typer app, common options, settings with flags applied, errors.

Every command reads its configuration from ``STREAMSCOPE_*`` environment variables; flags override
them. Errors are one sentence plus what to do (:class:`CliError`), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from streamscope import __version__
from streamscope.kafka import KafkaSetupError
from streamscope.settings import Settings, get_settings
from streamscope.warehouse import WarehouseError, connect, migrate

app = typer.Typer(
    name="streamscope",
    help="Capture Twitch chat into ClickHouse and query it forever.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# soft_wrap: without a terminal rich wraps at 80 columns, which splits summaries and paths in two.
log = logging.getLogger("streamscope")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

T = TypeVar("T")

ClickHouseUrl = Annotated[
    str | None,
    typer.Option(
        "--clickhouse-url",
        help="Warehouse URL: chdb://DIR (embedded) or http(s)://user:pass@host:8123. "
        "Default: $STREAMSCOPE_CLICKHOUSE_URL or chdb://./streamscope-data/warehouse.",
        show_default=False,
    ),
]
Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="ClickHouse database. Default: $STREAMSCOPE_CLICKHOUSE_DATABASE or streamscope.",
        show_default=False,
    ),
]
Host = Annotated[
    str | None,
    typer.Option("--host", help="Address the API listens on (default 127.0.0.1).", show_default=False),
]
Port = Annotated[
    int | None, typer.Option("--port", help="Port the API listens on (default 8000).", show_default=False)
]


class CliError(Exception):
    """A failure explained to the user in one sentence (plus what to do)."""


def settings_from(
    url: str | None, database: str | None, host: str | None = None, port: int | None = None
) -> Settings:
    """Settings from the environment with the command's flags applied on top."""
    overrides = {
        k: v
        for k, v in {
            "clickhouse_url": url,
            "clickhouse_database": database,
            "api_host": host,
            "api_port": port,
        }.items()
        if v is not None
    }
    return get_settings().model_copy(update=overrides)


def guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (CliError, WarehouseError, KafkaSetupError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def migrated(settings: Settings) -> None:
    client = connect(settings.clickhouse_url, settings.clickhouse_database)
    migrate(client)


def _version(value: bool) -> None:
    if value:
        out.print(f"streamscope {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
