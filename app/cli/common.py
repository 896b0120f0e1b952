"""What every command shares: the Typer app, common options, settings with flags applied, errors.

Every command reads its configuration from ``STREAMSCOPE_*`` environment variables; flags override
them (:func:`settings_from`, the one place the CLI builds its :class:`Settings`). Errors are one
sentence plus what to do (:class:`CliError`), never a traceback; a bad setting is one line naming
its variable, never echoing its value (it may be a token or a password).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from streamscope import __version__
from streamscope.kafka import KafkaSetupError
from streamscope.settings import Settings, get_settings
from streamscope.sources.audio import MissingExtra
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
IrcUrl = Annotated[
    str | None,
    typer.Option(
        "--irc-url",
        help="Twitch IRC WebSocket URL (default $STREAMSCOPE_TWITCH_IRC_URL).",
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
    url: str | None,
    database: str | None,
    host: str | None = None,
    port: int | None = None,
    /,
    **flags: object,
) -> Settings:
    """Settings from the environment with the command's flags applied on top (``flags``: more
    Settings fields by name; None means the flag was not given).

    Flags are validated like the environment. A bad value in either ends the command with exit
    code 2 and one line on stderr, ``error: STREAMSCOPE_NAME: what is wrong`` (see
    :func:`settings_error`).
    """
    overrides = {
        k: v
        for k, v in {
            "clickhouse_url": url,
            "clickhouse_database": database,
            "api_host": host,
            "api_port": port,
            **flags,
        }.items()
        if v is not None
    }
    try:
        settings = get_settings()
        if not overrides:
            return settings
        # model_copy(update=...) would skip validation: a flag must be checked like the variable.
        return Settings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        fail(settings_error(exc))
    except SettingsError as exc:  # a variable pydantic-settings could not even decode
        fail(str(exc))


def settings_error(exc: ValidationError) -> str:
    """``STREAMSCOPE_NAME: what is wrong`` for each bad setting of ``exc``, on one line.

    Only pydantic's message is used, never the input: the value may be a secret (a token, an API
    key, a password inside a URL).
    """
    prefix = Settings.model_config.get("env_prefix", "")
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = error["loc"]
        name = f"{prefix}{loc[0]}".upper() if loc else "settings"
        problems.append(f"{name}: {error['msg']}")
    return "; ".join(problems)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and end the command with exit code 2."""
    console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


def guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (CliError, WarehouseError, KafkaSetupError, MissingExtra) as exc:
        fail(str(exc))


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
