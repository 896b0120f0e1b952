"""``streamscope export``: a channel's archive to a chat file, through the reader the API's export route
uses too (:mod:`streamscope.query.archive`), so both give the same bytes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from clickhouse_connect.driver.exceptions import ClickHouseError
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from streamscope.app.cli.common import ClickHouseUrl, CliError, Database, app, console, guard, settings_from
from streamscope.query.archive import ArchiveExport
from streamscope.query.archive_query import archive_query
from streamscope.query.errors import QueryError
from streamscope.sinks.files import FORMATS
from streamscope.warehouse import connect, migrate
from streamscope.warehouse.shared import Warehouse


@app.command("export")
def export_cmd(
    channel: Annotated[str, typer.Argument(help="Channel login (xqcow) or numeric Twitch id.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write; '-' writes to stdout.", show_default=False)
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="json, jsonl, csv, txt, irc (raw IRC lines) or twitchdownloader "
            "(TwitchDownloader chat JSON).",
        ),
    ] = "jsonl",
    start: Annotated[
        str | None, typer.Option("--start", help="From this time (ISO 8601, UTC if no offset).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Until this time, exclusive (ISO 8601).")] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Only this user's messages and the events concerning them: login or id."),
    ] = None,
    events: Annotated[
        bool,
        typer.Option(
            "--events/--no-events",
            help="Include subs, resubs, gifts, raids, announcements, timeouts, bans, clears and "
            "deletions as rows of their own (irc: their raw lines), in time order with the messages.",
        ),
    ] = True,
    transcript: Annotated[
        bool,
        typer.Option(
            "--transcript",
            help="txt and jsonl: interleave what the streamer said (transcript segments) with chat, "
            "as rows of message_type transcript (txt: '[time] [voice] channel: text').",
        ),
    ] = False,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
) -> None:
    """Export a channel's chat from the warehouse: messages (with moderation marks) and events,
    oldest first, each row as a live capture of its raw line would write it.

    The file is the same as GET /v1/channels/{channel}/export returns; it is written block by block,
    so memory stays flat for any size. Progress (rows, rate) is shown on stderr.
    """
    settings = settings_from(clickhouse_url, database)
    guard(
        lambda: _export(
            settings.clickhouse_url,
            settings.clickhouse_database,
            channel,
            fmt,
            output,
            start,
            end,
            user,
            events,
            transcript,
        )
    )


def _export(
    url: str,
    database: str,
    channel: str,
    fmt: str,
    output: str,
    start: str | None,
    end: str | None,
    user: str | None,
    events: bool,
    transcript: bool = False,
) -> None:
    if fmt not in FORMATS:
        raise CliError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    client = connect(url, database)
    migrate(client)
    try:
        query = archive_query(Warehouse(client), channel, start, end, user)
    except QueryError as exc:
        raise CliError(f"{exc.message}; run `streamscope export --help` for the options") from None
    target = Path(output)
    try:
        fp_cm = nullcontext(sys.stdout.buffer) if output == "-" else target.open("wb")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror}") from None
    with (
        fp_cm as fp,
        Progress(
            SpinnerColumn(),
            TextColumn("exporting {task.description}"),
            TextColumn("{task.fields[rows]:,} rows"),
            TextColumn("{task.fields[rate]:,.0f} rows/s"),
            TextColumn("{task.fields[mb]:.1f} MB"),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task(f"{query.channel} as {fmt}", rows=0, rate=0.0, mb=0.0)

        def on_block(rows: int, size: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, rows=rows, rate=rows / elapsed if elapsed else 0.0, mb=size / 1e6)

        export = ArchiveExport(client, query, fmt, on_block=on_block, events=events, transcript=transcript)
        try:
            _copy(export.chunks(), fp)
        except ClickHouseError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CliError(f"the export stopped after {export.rows} rows: {first}") from None
    where = "stdout" if output == "-" else str(target)
    console.print(
        f"exported {export.messages} messages and {export.events} events ({export.bytes:,} bytes) to {where}"
    )


def _copy(chunks: Iterable[bytes], fp: BinaryIO) -> None:
    for chunk in chunks:
        fp.write(chunk)
    fp.flush()
