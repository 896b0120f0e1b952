"""``streamscope stats``: the chat statistics tables (chat_stats, chat_moments)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streamscope.app.cli.common import (
    ClickHouseUrl,
    CliError,
    Database,
    app,
    console,
    guard,
    out,
    settings_from,
)
from streamscope.query.channels import resolve
from streamscope.query.errors import QueryError
from streamscope.query.params import time_range
from streamscope.sinks.stats import StatsConfig
from streamscope.sinks.stats_rebuild import chat_span, rebuild
from streamscope.warehouse import connect, migrate
from streamscope.warehouse.shared import Warehouse

stats_app = typer.Typer(
    help="Chat statistics (chat_stats) and hype moments (chat_moments).", no_args_is_help=True
)
app.add_typer(stats_app, name="stats")


@stats_app.command("rebuild")
def stats_rebuild_cmd(
    channel: Annotated[
        str, typer.Option("--channel", help="Channel login or numeric id.", show_default=False)
    ],
    start: Annotated[
        str | None,
        typer.Option("--start", help="From this time (ISO 8601, UTC if no offset); default: the first chat."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="Until this time, exclusive (ISO 8601); default: the last chat."),
    ] = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
) -> None:
    """Recompute the 10 s and 1 min stats windows and the hype moments of a channel from the stored
    chat (after a parser fix, or for chat stored before the stats dataflow ran). Idempotent."""
    settings = settings_from(clickhouse_url, database)

    def run() -> None:
        client = connect(settings.clickhouse_url, settings.clickhouse_database)
        migrate(client)
        try:
            start_ms, end_ms = time_range(start, end)
            warehouse = Warehouse(client, readers=1)
            try:
                found = resolve(warehouse, channel)
            finally:
                warehouse.close()
        except QueryError as exc:
            raise CliError(exc.message) from None
        if start_ms is None or end_ms is None:
            span = chat_span(client, found.id)
            if span is None:
                out.print(f"{found.login} has no stored chat: nothing to rebuild")
                return
            start_ms = span.start if start_ms is None else start_ms
            end_ms = span.end if end_ms is None else end_ms
        lo, hi = start_ms, end_ms
        if hi <= lo:
            raise CliError("--end must be after --start (and after the channel's first chat)")
        with Progress(
            TextColumn(f"[bold]rebuild {found.login}[/bold]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} hours with chat"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("rebuild", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = rebuild(
                client, found.id, found.login, lo, hi, StatsConfig.from_settings(settings), progress=advance
            )
        out.print(
            f"rebuilt {report.windows} windows of {found.login} ({report.emptied} emptied), "
            f"{report.moments} moments"
        )

    guard(run)
