"""Commands that fill the warehouse and serve it: ``replay``, ``demo``, ``up``, ``serve``."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn
from streamscope.app.cli.common import (
    ClickHouseUrl,
    CliError,
    Database,
    Host,
    Port,
    app,
    console,
    guard,
    log,
    migrated,
    out,
    settings_from,
)
from streamscope.app.cli.helix import discovery_filters, start_eventsub, start_helix

from streamscope.records import RawEvent, RawLine
from streamscope.settings import Settings

if TYPE_CHECKING:
    from streamscope.sinks.kafka import KafkaPublisher
from streamscope.warehouse import connect, migrate


def _replay_files(settings: Settings, files: list[Path], speed: float | None, label: str) -> None:
    from streamscope.app.runtime import EmbeddedIngest
    from streamscope.sources.replay import ReplayProgress, replay

    for f in files:
        if not f.is_file():
            raise CliError(f"{f} is not a readable file; pass recorded raw IRC logs (one line per line).")
    migrated(settings)
    ingest = EmbeddedIngest.from_settings(settings).start()
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
                replay(files, ingest.publish, speed=speed, progress=progress)
            except BaseException as exc:
                error.append(exc)
            finally:
                done.set()

        threading.Thread(target=produce, name="replay", daemon=True).start()
        while not done.wait(0.2):
            c = ingest.counters
            bar.update(task, completed=progress.bytes, lines=progress.lines, stored=c.messages + c.events)
        if error:
            ingest.finish()
            raise CliError(f"replay failed: {error[0]}")
        counters = ingest.finish()
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


def _serve(
    settings: Settings, before: Callable[[], None] | None = None, after: Callable[[], None] | None = None
) -> None:
    import uvicorn
    from streamscope.api.app import create_app

    client = connect(settings.clickhouse_url, settings.clickhouse_database)
    migrate(client)
    application = create_app(settings=settings, client=client)
    config = uvicorn.Config(application, host=settings.api_host, port=settings.api_port, log_level="info")
    server = uvicorn.Server(config)
    if before is not None:
        before()
    out.print(f"API on http://{settings.api_host}:{settings.api_port} (docs at /docs); Ctrl-C stops")
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its graceful shutdown; ours follows in `after`
    finally:
        if after is not None:
            after()


@app.command("serve")
def serve_cmd(
    host: Host = None, port: Port = None, clickhouse_url: ClickHouseUrl = None, database: Database = None
) -> None:
    """Serve the HTTP API (history, channels, events, /docs, /metrics) alone."""
    settings = settings_from(clickhouse_url, database, host, port)
    guard(lambda: _serve(settings))


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
        guard(lambda: _serve(settings))


@app.command("up")
def up_cmd(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="Channel login to capture (repeatable).")
    ] = None,
    host: Host = None,
    port: Port = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
    irc_url: Annotated[
        str | None,
        typer.Option(
            "--irc-url",
            help="Twitch IRC WebSocket URL (default $STREAMSCOPE_TWITCH_IRC_URL).",
            show_default=False,
        ),
    ] = None,
    kafka: Annotated[
        str | None,
        typer.Option(
            "--kafka",
            help="Kafka bootstrap servers: run the chat and streams dataflows from Kafka (sources run as "
            "`streamscope source`, or --channel here publishes to Kafka) instead of the in-process bus. "
            "Default: $STREAMSCOPE_KAFKA_BROKERS (unset: embedded).",
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
) -> None:
    """Capture live chat anonymously (IRC) into the warehouse and serve the API, in one process.

    With STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET set, Helix viewer counts and stream sessions
    are captured too; --discover follows the top live channels (filters: --min-viewers,
    --language, --game, --max-channels). With --kafka (or STREAMSCOPE_KAFKA_BROKERS) this process
    owns the warehouse and runs the chat dataflow from Kafka with recovery, plus the API; sources
    run separately (`streamscope source`), and any --channel given is captured here into Kafka too.
    Logs a progress line (channels joined, lines received, rows stored, reconnects) every
    --status-every seconds; Ctrl-C stops capture, stores what was received and exits.
    """
    from streamscope.app.runtime import EmbeddedIngest, KafkaIngest
    from streamscope.sources.twitch_irc import TwitchIrcSource

    settings = settings_from(clickhouse_url, database, host, port)
    if irc_url:
        settings = settings.model_copy(update={"twitch_irc_url": irc_url})
    if kafka:
        settings = settings.model_copy(update={"kafka_brokers": kafka})
    logins = sorted({c.strip().lstrip("#").lower() for c in channel or [] if c.strip()})
    if not logins and not discover and not settings.kafka_brokers:
        guard(lambda: (_ for _ in ()).throw(CliError("give at least one --channel NAME (or --discover)")))
    filters = guard(lambda: discovery_filters(discover, min_viewers, language, game, max_channels))
    capturing = bool(logins) or filters is not None
    helix = None

    def run() -> None:
        nonlocal helix
        migrated(settings)
        if capturing:
            helix = start_helix(settings, logins, filters)
        ingest: EmbeddedIngest | KafkaIngest
        publisher: KafkaPublisher[RawLine] | None = None
        publish: Callable[[list[RawLine]], None] | None = None
        if settings.kafka_brokers:
            from streamscope.app.cli.distributed import irc_publisher

            ingest = KafkaIngest(settings).start()
            if capturing:
                publisher = irc_publisher(settings, "irc")
                publish = publisher.publish
        else:
            ingest = EmbeddedIngest.from_settings(settings).start()
            publish = ingest.publish
        eventsub = start_eventsub(settings, logins, helix, kafka=bool(settings.kafka_brokers))
        loop = asyncio.new_event_loop()
        capture_failed: list[BaseException] = []

        def capture_main() -> None:
            # run_forever, not run_until_complete(source.run()): stop() must still be able to run
            # on this loop after source.run() returns.
            assert source is not None
            asyncio.set_event_loop(loop)
            task = loop.create_task(source.run())

            def record_failure(t: asyncio.Task[None]) -> None:
                error = None if t.cancelled() else t.exception()
                if error is not None:
                    capture_failed.append(error)

            task.add_done_callback(record_failure)
            if helix is not None:
                helix.attach(source.join, source.part)
                helix.start(loop)
            if eventsub is not None:
                eventsub.start(loop)
            loop.run_forever()

        source = (
            TwitchIrcSource(
                logins,
                publish,
                url=settings.twitch_irc_url,
                channels_per_connection=settings.irc_channels_per_connection,
                joins_per_window=settings.irc_joins_per_window,
                join_window_s=settings.irc_join_window_s,
            )
            if publish is not None
            else None
        )
        capture = threading.Thread(target=capture_main, name="irc-capture", daemon=True)
        stopping = threading.Event()

        def report_progress() -> None:
            # A long-running capture says how it is doing; metrics carry the same figures.
            while not stopping.wait(status_every):
                c = ingest.counters
                if source is None:
                    log.info(
                        "progress: %d messages and %d events stored, %d rejected",
                        c.messages, c.events, c.dead_letters,
                    )  # fmt: skip
                    continue
                irc = source.stats()
                log.info(
                    "progress: %d/%d channels joined, %d lines received, %d messages and %d events "
                    "stored, %d rejected, %d reconnects",
                    irc.joined_channels, irc.channels, irc.lines_received, c.messages, c.events,
                    c.dead_letters, irc.reconnects,
                )  # fmt: skip
                if helix is not None:
                    p = helix.poller.stats()
                    samples, sessions = streams_stored()
                    log.info(
                        "progress: helix %d channels tracked, %d requests (%d x 429, %.0fs paced), "
                        "%d viewer samples and %d session rows stored",
                        p.channels, p.requests, p.rate_limited, p.paced_s, samples, sessions,
                    )  # fmt: skip

        def publishers() -> list[KafkaPublisher[RawLine] | KafkaPublisher[RawEvent]]:
            found: list[KafkaPublisher[RawLine] | KafkaPublisher[RawEvent]] = []
            if publisher is not None:
                found.append(publisher)
            for other in (eventsub.publisher if eventsub else None, helix.publisher if helix else None):
                if other is not None:
                    found.append(other)
            return found

        def streams_stored() -> tuple[int, int]:
            if helix is not None and helix.streams is not None:
                return helix.streams.counters.samples, helix.streams.counters.session_rows
            if isinstance(ingest, KafkaIngest):
                return ingest.streams_samples, ingest.streams_sessions
            return 0, 0

        def start() -> None:
            if source is not None:
                capture.start()
            threading.Thread(target=report_progress, name="progress", daemon=True).start()

        def stop() -> None:
            stopping.set()
            if source is not None:
                if eventsub is not None:
                    asyncio.run_coroutine_threadsafe(eventsub.stop(), loop).result(timeout=60)
                if helix is not None:
                    asyncio.run_coroutine_threadsafe(helix.stop(), loop).result(timeout=60)
                asyncio.run_coroutine_threadsafe(source.stop(), loop).result(timeout=60)
                loop.call_soon_threadsafe(loop.stop)
                capture.join(timeout=10)
            if capture_failed:
                console.print(f"[red]capture failed:[/red] {capture_failed[0]}")
            unacknowledged = [p.close(60) for p in publishers()]
            if any(unacknowledged):
                console.print(
                    f"[red]Kafka did not acknowledge {sum(unacknowledged)} captured records within 60s; "
                    "they are lost[/red]"
                )
            counters = ingest.finish(timeout=120)
            out.print(
                f"stored {counters.messages} messages and {counters.events} events, "
                f"rejected {counters.dead_letters}"
            )
            if eventsub is not None:
                eventsub.finish(timeout=120)
            if helix is not None and helix.streams is not None:
                helix.streams.finish(timeout=120)
            if helix is not None:
                samples, sessions = streams_stored()
                out.print(f"stored {samples} viewer samples and {sessions} stream session rows")

        if logins:
            out.print(f"capturing {', '.join('#' + c for c in logins)} from {settings.twitch_irc_url}")
        if settings.kafka_brokers:
            out.print(
                f"chat dataflow reading Kafka {settings.kafka_brokers} (recovery in {settings.recovery_dir})"
            )
        _serve(settings, before=start, after=stop)

    guard(run)
