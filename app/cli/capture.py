"""``streamscope capture URL``: one capture to a file in the foreground, with a live progress bar."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.progress import Progress as Bar
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from streamscope.app.cli.common import CliError, IrcUrl, app, console, guard, out, settings_from
from streamscope.capture import SUPPORTED, Progress, SourceUnreachable, UnsupportedUrl, capture, resolve
from streamscope.capture.vod import ReplayUnavailable
from streamscope.capture.youtube import MissingExtra
from streamscope.settings import Settings
from streamscope.sinks.files import CAPTURE_FORMATS, EXTENSIONS


@app.command("capture")
def capture_cmd(
    url: Annotated[str, typer.Argument(help=f"What to capture: {SUPPORTED}.", show_default=False)],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help=f"File format: {', '.join(CAPTURE_FORMATS)}."),
    ] = "json",
    max_messages: Annotated[
        int | None,
        typer.Option(
            "--max-messages", "-n", min=1, help="Stop after this many messages.", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", "-t", min=0.001, help="Stop after this many seconds.", show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default: NAME.FORMAT in the current directory).",
            show_default=False,
        ),
    ] = None,
    irc_url: IrcUrl = None,
    gql_url: Annotated[
        str | None,
        typer.Option(
            "--gql-url", help="Twitch GQL URL (default $STREAMSCOPE_TWITCH_GQL_URL).", show_default=False
        ),
    ] = None,
) -> None:
    """Capture chat to a file: a live Twitch channel, a Twitch VOD or clip, or a YouTube video.

    Live chat runs until --max-messages, --timeout or Ctrl-C; a VOD, clip or replay also ends with its
    last message. The file is written as messages arrive; Ctrl-C finishes it cleanly (a json array
    is closed) and prints the counts. Examples:

      streamscope capture https://www.twitch.tv/xqcow --format csv --timeout 600 -o xqcow.csv

      streamscope capture https://www.twitch.tv/videos/1602009987 --format json
    """
    settings = settings_from(None, None, twitch_irc_url=irc_url or None, twitch_gql_url=gql_url or None)
    guard(lambda: _capture(settings, url, fmt, max_messages, timeout, output))


def _capture(
    settings: Settings,
    url: str,
    fmt: str,
    max_messages: int | None,
    timeout: float | None,
    output: Path | None,
) -> None:
    try:
        target = resolve(url)
    except UnsupportedUrl as exc:
        raise CliError(str(exc)) from None
    if fmt not in CAPTURE_FORMATS:
        raise CliError(f"unknown format {fmt!r}; use one of {', '.join(CAPTURE_FORMATS)}")
    path = output or Path(f"{target.name}{EXTENSIONS[fmt]}")
    try:
        fp = path.open("wb")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    progress = Progress()
    interrupted = False
    with (
        fp,
        Bar(
            SpinnerColumn(),
            TextColumn(f"[bold]{target.kind.replace('_', ' ')}[/bold] {target.id}"),
            TextColumn("{task.fields[messages]} messages, {task.fields[rate]:.1f} msg/s"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal and os.environ.get("CI") == "true",
        ) as bar,
    ):
        task = bar.add_task("capture", total=None, messages=0, rate=0.0)

        def show(p: Progress) -> None:
            bar.update(task, messages=p.messages, rate=p.rate)

        async def main() -> str:
            running = asyncio.ensure_future(
                capture(
                    target,
                    fmt,
                    fp,
                    settings,
                    max_messages=max_messages,
                    timeout_s=timeout,
                    progress=progress,
                    on_batch=show,
                )  # fmt: skip
            )

            def on_sigint() -> None:
                nonlocal interrupted
                interrupted = True
                running.cancel()  # capture() closes the file before the cancellation ends it

            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            loop.add_signal_handler(signal.SIGTERM, on_sigint)
            try:
                return await running
            except asyncio.CancelledError:
                if interrupted:
                    return "interrupted"
                raise

        try:
            reason = asyncio.run(main())
        except (ReplayUnavailable, MissingExtra, SourceUnreachable) as exc:
            raise CliError(f"{exc} (the file {path} holds what was captured before)") from None
        except (OSError, httpx.HTTPError, ValueError) as exc:
            # Network errors, and answers that are not what the platform documents (not JSON, ...).
            raise CliError(f"capture failed: {exc}; the file {path} holds what was captured before") from None
        show(progress)
    why = {
        "end": "end of chat",
        "max_messages": "--max-messages reached",
        "timeout": "--timeout reached",
        "interrupted": "stopped by Ctrl-C",
    }[reason]
    out.print(
        f"captured {progress.messages} messages ({progress.bytes} bytes) in {progress.elapsed:.1f}s "
        f"to {path}: {why}"
    )
