"""Commands that fill the warehouse and serve it: ``replay``, ``demo``, ``up``, ``serve``."""

from __future__ import annotations

import os
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from streamscope import topics
from streamscope.app.captures import (
    NO_CREDENTIALS,
    NO_USER_TOKEN,
    CaptureLoop,
    has_helix_credentials,
    has_user_token,
    live_captures,
)
from streamscope.app.cli.common import (
    ClickHouseUrl,
    CliError,
    Database,
    Host,
    IrcUrl,
    Port,
    app,
    console,
    guard,
    log,
    out,
    settings_from,
)
from streamscope.app.cli.helix import discovery_filters
from streamscope.app.cli.speech import audio_captures, speech_guard, transcribe_dataflows
from streamscope.app.runtime import Runtime
from streamscope.settings import Settings
from streamscope.sources.helix.discovery import DiscoveryFilters
from streamscope.sources.replay import ReplayProgress, replay
from streamscope.twitch.logins import normalize_logins


def _replay_files(settings: Settings, files: list[Path], speed: float | None, label: str) -> None:
    for f in files:
        if not f.is_file():
            raise CliError(f"{f} is not a readable file; pass recorded raw IRC logs (one line per line).")
    # A replay always goes through the in-process bus (`source replay` is the Kafka variant).
    runtime = Runtime.embedded(settings)
    runtime.prepare()
    runtime.start_dataflows(["chat", "stats"])
    publisher = runtime.publisher(topics.IRC_RAW, "replay")
    progress = ReplayProgress(total_bytes=sum(f.stat().st_size for f in files))
    started = time.monotonic()
    with Progress(
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        TextColumn("{task.fields[lines]} lines read, {task.fields[stored]} stored"),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal and os.environ.get("CI") == "true",
    ) as bar:
        task = bar.add_task(label, total=progress.total_bytes, lines=0, stored=0)
        done = threading.Event()
        error: list[BaseException] = []

        def produce() -> None:
            try:
                replay(files, publisher.publish, speed=speed, progress=progress)
            except BaseException as exc:
                error.append(exc)
            finally:
                done.set()

        threading.Thread(target=produce, name="replay", daemon=True).start()
        while not done.wait(0.2):
            c = runtime.counters
            bar.update(task, completed=progress.bytes, lines=progress.lines, stored=c.messages + c.events)
        if error:
            runtime.finish()
            raise CliError(f"replay failed: {error[0]}")
        counters = runtime.finish()
        bar.update(
            task, completed=progress.bytes, lines=progress.lines, stored=counters.messages + counters.events
        )
    elapsed = time.monotonic() - started
    out.print(
        f"read {progress.lines} lines, stored {counters.messages} messages and {counters.events} events, "
        f"rejected {counters.dead_letters} (dead-lettered), skipped {counters.control} connection lines "
        f"in {elapsed:.1f}s"
    )


@app.command("replay")
def replay_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Recorded raw Twitch IRC logs, one raw line per line (.gz ok).")
    ],
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            help="Pace lines by their timestamps at X times real time (default: as fast as possible).",
            min=0.001,
        ),
    ] = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
) -> None:
    """Feed recorded raw IRC logs through the chat dataflow into the warehouse.

    Prints how many lines were read, stored and rejected. Replaying the same file again stores
    nothing twice.
    """
    settings = settings_from(clickhouse_url, database)
    guard(lambda: _replay_files(settings, files, speed, "replay"))


def _announce(settings: Settings) -> None:
    out.print(f"API on http://{settings.api_host}:{settings.api_port} (docs at /docs); Ctrl-C stops")


@app.command("serve")
def serve_cmd(
    host: Host = None, port: Port = None, clickhouse_url: ClickHouseUrl = None, database: Database = None
) -> None:
    """Serve the HTTP API (history, channels, events, /docs, /metrics) alone."""
    settings = settings_from(clickhouse_url, database, host, port)
    guard(lambda: Runtime(settings).serve(before=lambda: _announce(settings)))


@app.command("demo")
def demo_cmd(
    host: Host = None,
    port: Port = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Load the recording and exit without serving.")
    ] = False,
) -> None:
    """Replay the bundled #xqcow recording (5000 real lines, MIT) into the warehouse, then serve the API."""
    settings = settings_from(clickhouse_url, database, host, port)
    recording = resources.files("streamscope.demo").joinpath("xqcow_2019-09-15.log")
    with resources.as_file(recording) as path:
        guard(lambda: _replay_files(settings, [Path(path)], None, "demo"))
    out.print(
        f"try: curl 'http://{settings.api_host}:{settings.api_port}/v1/channels' and "
        f"curl 'http://{settings.api_host}:{settings.api_port}/v1.0/71092938/chat?start=2019-09-15T00:00:00Z&end=2019-09-16T00:00:00Z&limit=5'"
    )
    if not no_serve:
        guard(lambda: Runtime(settings).serve(before=lambda: _announce(settings)))


def _up(
    settings: Settings,
    logins: list[str],
    filters: DiscoveryFilters | None,
    status_every: float,
    transcribe: bool = False,
) -> None:
    if filters is not None and not has_helix_credentials(settings):
        raise CliError(
            "--discover needs STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET (Helix lists live streams)"
        )
    runtime = Runtime(settings)
    runtime.prepare()
    runtime.start_dataflows(transcribe_dataflows(runtime) if transcribe else None)
    sources = live_captures(settings, logins, runtime.publisher, filters)
    if transcribe:
        sources += audio_captures(settings, logins, runtime.publisher)
    captures = CaptureLoop(sources)
    _say_what_runs(settings, logins, filters)
    stopping = threading.Event()

    def report_progress() -> None:
        # A long-running capture says how it is doing; metrics carry the same figures.
        while not stopping.wait(status_every):
            c = runtime.counters
            for line in captures.progress():
                log.info("progress: %s", line)
            log.info(
                "progress: %d messages and %d events stored, %d rejected, %d viewer samples and "
                "%d session rows stored", c.messages, c.events, c.dead_letters, c.samples, c.sessions,
            )  # fmt: skip
            if transcribe:
                log.info("progress: %d transcript segments and %d gap rows stored", c.segments, c.gaps)

    def start() -> None:
        captures.start()
        threading.Thread(target=report_progress, name="progress", daemon=True).start()
        _announce(settings)

    def stop() -> None:
        stopping.set()
        captures.stop()
        for name, error in captures.errors():
            console.print(f"[red]{name} capture failed:[/red] {error}")
        left = runtime.close_publishers(60)
        if left:
            console.print(
                f"[red]Kafka did not acknowledge {left} captured records within 60s; they are lost[/red]"
            )
        counters = runtime.finish(timeout=120)
        c = counters
        out.print(f"stored {c.messages} messages and {c.events} events, rejected {c.dead_letters}")
        if counters.samples or counters.sessions:
            out.print(f"stored {counters.samples} viewer samples and {counters.sessions} stream session rows")
        if transcribe:
            out.print(f"stored {c.segments} transcript segments and {c.gaps} gap rows")

    runtime.serve(before=start, after=stop)


def _say_what_runs(settings: Settings, logins: list[str], filters: DiscoveryFilters | None) -> None:
    if logins:
        out.print(f"capturing {', '.join('#' + c for c in logins)} from {settings.twitch_irc_url}")
    if settings.kafka_brokers:
        out.print(f"dataflows reading Kafka {settings.kafka_brokers} (recovery in {settings.recovery_dir})")
    if not logins and filters is None:
        return
    if has_helix_credentials(settings):
        what = f"{len(logins)} channel(s)" + (", discovering live channels" if filters is not None else "")
        every = f"{settings.helix_poll_interval_s:g}s"
        out.print(f"viewer counts from {settings.twitch_helix_url} every {every} for {what}")
    else:
        out.print(NO_CREDENTIALS)
        log.info(NO_CREDENTIALS)
    if has_user_token(settings) and logins:
        out.print(f"EventSub for {len(logins)} channel(s) at {settings.twitch_eventsub_url}")
    else:
        log.info(NO_USER_TOKEN)


@app.command("up")
def up_cmd(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="Channel login to capture (repeatable).")
    ] = None,
    host: Host = None,
    port: Port = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
    irc_url: IrcUrl = None,
    kafka: Annotated[
        str | None,
        typer.Option(
            "--kafka",
            help="Kafka bootstrap servers: the dataflows read Kafka (with recovery) instead of the "
            "in-process bus, and any --channel here is captured into Kafka. Sources may also run "
            "as `streamscope source`. Default: $STREAMSCOPE_KAFKA_BROKERS (unset: embedded).",
            show_default=False,
        ),
    ] = None,
    status_every: Annotated[
        float, typer.Option("--status-every", min=1.0, help="Seconds between progress lines in the log.")
    ] = 30.0,
    discover: Annotated[
        bool, typer.Option("--discover", help="Follow the top live channels (Helix; needs client id/secret).")
    ] = False,
    min_viewers: Annotated[int, typer.Option("--min-viewers", min=0, help="Discovery: fewest viewers.")] = 0,
    language: Annotated[
        list[str] | None, typer.Option("--language", help="Discovery: stream language(s), e.g. en,de.")
    ] = None,
    game: Annotated[
        list[str] | None, typer.Option("--game", help="Discovery: Twitch game/category id(s).")
    ] = None,
    max_channels: Annotated[
        int, typer.Option("--max-channels", min=1, help="Discovery: most channels followed.")
    ] = 100,
    transcribe: Annotated[
        bool,
        typer.Option(
            "--transcribe",
            help="Also transcribe each --channel's live stream audio (faster-whisper; the speech extra): "
            "audio from $STREAMSCOPE_TWITCH_AUDIO_URL (twitch.tv via streamlink), segments into "
            "transcript_segments, served at /v1/channels/{channel}/transcript.",
        ),
    ] = False,
) -> None:
    """Capture live chat anonymously (IRC) into the warehouse and serve the API, in one process.

    With STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET set, Helix viewer counts and stream sessions
    are captured too; --discover follows the top live channels (filters: --min-viewers,
    --language, --game, --max-channels); with a user token (STREAMSCOPE_TWITCH_USER_TOKEN) EventSub
    stream events too. With --kafka (or STREAMSCOPE_KAFKA_BROKERS) the same process runs its
    dataflows from Kafka with recovery, and what it captures goes through Kafka. Logs a progress
    line (channels joined, lines received, rows stored, reconnects) every --status-every seconds;
    Ctrl-C stops capture, stores what was received and exits.
    """
    overrides = {"twitch_irc_url": irc_url, "kafka_brokers": kafka}
    settings = settings_from(clickhouse_url, database, host, port, **overrides)
    logins = normalize_logins(channel or [])
    if not logins and not discover and not settings.kafka_brokers:
        guard(lambda: (_ for _ in ()).throw(CliError("give at least one --channel NAME (or --discover)")))
    filters = guard(lambda: discovery_filters(discover, min_viewers, language, game, max_channels))
    guard(lambda: speech_guard(lambda: _up(settings, logins, filters, status_every, transcribe)))
