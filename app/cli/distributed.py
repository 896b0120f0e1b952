"""Distributed-mode processes: ``streamscope source irc|replay`` and what every source shares.

A source process captures and publishes to Kafka (``source helix|eventsub`` are in
:mod:`streamscope.app.cli.api_sources`); a pipeline process (:mod:`streamscope.app.cli.pipelines`) runs one
Bytewax dataflow from Kafka into the warehouse, with recovery. Each can run alone, be killed at any
moment and restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from streamscope.app.cli.common import (
    CliError,
    app,
    guard,
    log,
    out,
    settings_from,
)

from streamscope import topics
from streamscope.records import RawEvent, RawLine
from streamscope.settings import Settings
from streamscope.topics import Topic

if TYPE_CHECKING:
    from streamscope.sinks.kafka import KafkaPublisher

source_app = typer.Typer(help="Run a capture source that publishes to Kafka.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Run a dataflow from Kafka into the warehouse.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(pipeline_app, name="pipeline")

Kafka = Annotated[
    str | None,
    typer.Option(
        "--kafka",
        help="Kafka bootstrap servers (host:port,...). Default: $STREAMSCOPE_KAFKA_BROKERS.",
        show_default=False,
    ),
]
MetricsPort = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        help="Serve Prometheus metrics at http://0.0.0.0:PORT/metrics (default: not served).",
        show_default=False,
    ),
]


def kafka_settings(settings: Settings, kafka: str | None) -> Settings:
    """``settings`` with ``--kafka`` applied; a clear error when no broker is configured."""
    brokers = kafka or settings.kafka_brokers
    if not brokers:
        raise CliError("no Kafka brokers: pass --kafka HOST:PORT or set STREAMSCOPE_KAFKA_BROKERS")
    return settings.model_copy(update={"kafka_brokers": brokers})


def terminate_like_interrupt() -> None:
    # Containers stop with SIGTERM: treat it like Ctrl-C so sources flush what they buffered.
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run_capture(
    run: Callable[[], Coroutine[Any, Any, None]],
    stop: Callable[[], Awaitable[None]],
    progress: Callable[[], None],
    every_s: float,
) -> None:
    """Run a source's ``run()`` until it ends or Ctrl-C/SIGTERM (then ``stop()`` it cleanly),
    calling ``progress()`` every ``every_s`` seconds."""

    async def main() -> None:
        task = asyncio.create_task(run())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=every_s)
                progress()
            await task
        finally:
            if not task.done():
                await stop()
                await task

    terminate_like_interrupt()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C/SIGTERM: stopped above; callers flush
        asyncio.run(main())


def finish_publisher(publisher: KafkaPublisher[RawEvent] | KafkaPublisher[RawLine], what: str) -> None:
    """Wait up to 60 s for Kafka to acknowledge what is buffered; a clear error for what it did not."""
    left = publisher.close(60)
    if left:
        raise CliError(
            f"Kafka did not acknowledge {left} captured {what} within 60s; they are lost "
            "(check that the brokers are up before stopping a source)"
        )


def event_publisher(settings: Settings, topic: Topic, source: str) -> KafkaPublisher[RawEvent]:
    """A producer of raw JSON events (EventSub frames, Helix answers) to ``topic``; creates topics."""
    from streamscope.sinks.kafka import KafkaPublisher

    from streamscope.kafka import encode_event, ensure_topics, topic_name

    assert settings.kafka_brokers
    ensure_topics(settings.kafka_brokers, topics.ALL, prefix=settings.kafka_topic_prefix)
    return KafkaPublisher(
        settings.kafka_brokers,
        topic_name(topic, settings.kafka_topic_prefix),
        encode_event,
        buffer_messages=settings.kafka_buffer_messages,
        client_id=f"streamscope-source-{source}",
        channel_of=lambda r: r.channel,
        source=source,
    )


def irc_publisher(settings: Settings, source: str) -> KafkaPublisher[RawLine]:
    from streamscope.sinks.kafka import KafkaPublisher

    from streamscope.kafka import encode_line, ensure_topics, topic_name

    assert settings.kafka_brokers
    ensure_topics(settings.kafka_brokers, topics.ALL, prefix=settings.kafka_topic_prefix)
    return KafkaPublisher(
        settings.kafka_brokers,
        topic_name(topics.IRC_RAW, settings.kafka_topic_prefix),
        encode_line,
        buffer_messages=settings.kafka_buffer_messages,
        client_id=f"streamscope-source-{source}",
        channel_of=lambda r: r.channel,
        source=source,
    )


def serve_metrics_port(port: int | None) -> None:
    if port is not None:
        from streamscope.metrics import serve_metrics

        serve_metrics(port)
        log.info("metrics on http://0.0.0.0:%d/metrics", port)


@source_app.command("irc")
def source_irc_cmd(
    channel: Annotated[
        list[str], typer.Option("--channel", "-c", help="Channel login to capture (repeatable).")
    ],
    kafka: Kafka = None,
    irc_url: Annotated[
        str | None,
        typer.Option("--irc-url", help="Twitch IRC WebSocket URL (default $STREAMSCOPE_TWITCH_IRC_URL).",
                     show_default=False),
    ] = None,
    status_every: Annotated[
        float, typer.Option("--status-every", min=1.0, help="Seconds between progress lines in the log.")
    ] = 30.0,
    metrics_port: MetricsPort = None,
) -> None:  # fmt: skip
    """Capture live chat anonymously (IRC) and publish every raw line to Kafka (twitch.irc.raw).

    Keeps capturing while Kafka is briefly unreachable (a bounded local buffer, then backpressure);
    Ctrl-C or SIGTERM stops capture and waits until Kafka acknowledged everything captured.
    """
    from streamscope.sources.twitch_irc import TwitchIrcSource

    def run() -> None:
        settings = kafka_settings(settings_from(None, None), kafka)
        if irc_url:
            settings = settings.model_copy(update={"twitch_irc_url": irc_url})
        logins = sorted({c.strip().lstrip("#").lower() for c in channel if c.strip()})
        if not logins:
            raise CliError("give at least one --channel NAME")
        serve_metrics_port(metrics_port)
        publisher = irc_publisher(settings, "irc")
        source = TwitchIrcSource(
            logins,
            publisher.publish,
            url=settings.twitch_irc_url,
            channels_per_connection=settings.irc_channels_per_connection,
            joins_per_window=settings.irc_joins_per_window,
            join_window_s=settings.irc_join_window_s,
        )
        out.print(
            f"capturing {', '.join('#' + c for c in logins)} from {settings.twitch_irc_url} "
            f"into Kafka {settings.kafka_brokers}; Ctrl-C stops"
        )

        def progress() -> None:
            irc = source.stats()
            log.info(
                "progress: %d/%d channels joined, %d lines received, %d delivered to Kafka, "
                "%d waiting, %d reconnects",
                irc.joined_channels, irc.channels, irc.lines_received, publisher.delivered,
                publisher.buffered, irc.reconnects,
            )  # fmt: skip

        run_capture(source.run, source.stop, progress, status_every)
        finish_publisher(publisher, "lines")
        out.print(f"received {source.stats().lines_received} lines, Kafka acknowledged {publisher.delivered}")

    guard(run)


@source_app.command("replay")
def source_replay_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Recorded raw Twitch IRC logs, one raw line per line (.gz ok).")
    ],
    kafka: Kafka = None,
    speed: Annotated[
        float | None,
        typer.Option("--speed", min=0.001, help="Pace lines at X times real time (default: at once)."),
    ] = None,
) -> None:
    """Publish recorded raw IRC logs to Kafka (twitch.irc.raw), then wait until all are acknowledged.

    Publishing the same file again is harmless: the warehouse stores each message once.
    """
    from streamscope.sources.replay import replay

    def run() -> None:
        settings = kafka_settings(settings_from(None, None), kafka)
        for f in files:
            if not f.is_file():
                raise CliError(f"{f} is not a readable file; pass recorded raw IRC logs (one line per line).")
        publisher = irc_publisher(settings, "replay")
        started = time.monotonic()
        sent = replay(files, publisher.publish, speed=speed)
        left = publisher.close(120)
        if left:
            raise CliError(f"Kafka did not acknowledge {left} of {sent} lines within 120s; run it again")
        out.print(
            f"published {sent} lines to {settings.kafka_brokers} "
            f"({publisher.failed} refused) in {time.monotonic() - started:.1f}s"
        )

    guard(run)
