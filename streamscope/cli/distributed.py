"""Distributed-mode processes: ``streamscope source KIND ...`` and ``streamscope pipeline NAME ...``.

A source process captures and publishes to Kafka; a pipeline process runs one Bytewax dataflow from
Kafka into the warehouse, with recovery. Each can run alone, be killed at any moment and restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from streamscope import topics
from streamscope.cli.common import (
    ClickHouseUrl,
    CliError,
    Database,
    app,
    guard,
    log,
    migrated,
    out,
    settings_from,
)
from streamscope.records import RawLine
from streamscope.settings import Settings

if TYPE_CHECKING:
    from sinks.kafka import KafkaPublisher

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


def _terminate_like_interrupt() -> None:
    # Containers stop with SIGTERM: treat it like Ctrl-C so sources flush what they buffered.
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def irc_publisher(settings: Settings, source: str) -> KafkaPublisher[RawLine]:
    from sinks.kafka import KafkaPublisher
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


def _serve_metrics(port: int | None) -> None:
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
    from sources.twitch_irc import TwitchIrcSource

    def run() -> None:
        settings = kafka_settings(settings_from(None, None), kafka)
        if irc_url:
            settings = settings.model_copy(update={"twitch_irc_url": irc_url})
        logins = sorted({c.strip().lstrip("#").lower() for c in channel if c.strip()})
        if not logins:
            raise CliError("give at least one --channel NAME")
        _serve_metrics(metrics_port)
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

        async def main() -> None:
            task = asyncio.create_task(source.run())
            try:
                while not task.done():
                    await asyncio.wait({task}, timeout=status_every)
                    irc = source.stats()
                    log.info(
                        "progress: %d/%d channels joined, %d lines received, %d delivered to Kafka, "
                        "%d waiting, %d reconnects",
                        irc.joined_channels, irc.channels, irc.lines_received, publisher.delivered,
                        publisher.buffered, irc.reconnects,
                    )  # fmt: skip
                await task
            finally:
                if not task.done():
                    await source.stop()
                    await task

        _terminate_like_interrupt()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C/SIGTERM: stop, then flush below
            asyncio.run(main())
        left = publisher.close(60)
        stats = source.stats()
        out.print(
            f"received {stats.lines_received} lines, Kafka acknowledged {publisher.delivered}"
            + (f", {left} still undelivered after 60s" if left else "")
        )

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
    from sources.replay import replay

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


@pipeline_app.command("chat")
def pipeline_chat_cmd(
    kafka: Kafka = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Bytewax workers in this process (default 1).",
                     show_default=False),
    ] = None,
    process_id: Annotated[
        int | None,
        typer.Option("--process-id", "-i", min=0, help="This process's index in a Bytewax cluster.",
                     show_default=False),
    ] = None,
    addresses: Annotated[
        str | None,
        typer.Option("--addresses", "-a", help='Cluster addresses "host:port;host:port;..." (with -i).',
                     show_default=False),
    ] = None,
    recovery_dir: Annotated[
        str | None,
        typer.Option("--recovery-dir", help="Recovery store directory (default $STREAMSCOPE_RECOVERY_DIR).",
                     show_default=False),
    ] = None,
    snapshot_interval: Annotated[
        float | None,
        typer.Option("--snapshot-interval", min=1.0, help="Seconds between recovery snapshots (default 10).",
                     show_default=False),
    ] = None,
    metrics_port: MetricsPort = None,
) -> None:  # fmt: skip
    """Run the chat dataflow: Kafka twitch.irc.raw → parse → ClickHouse, with recovery.

    Killed at any moment and restarted, it resumes from its last snapshot: every message is stored
    and none is visible twice. With an embedded chDB warehouse no other process may open it.
    """

    def run() -> None:
        from bytewax.run import cli_main

        from pipelines import chat
        from streamscope.kafka import ensure_topics
        from streamscope.runtime import count_flush, recovery_config

        if (process_id is None) != (addresses is None):
            raise CliError("--process-id and --addresses go together (a Bytewax cluster)")
        updates = {
            k: v
            for k, v in {
                "pipeline_workers": workers,
                "recovery_dir": recovery_dir,
                "snapshot_interval_s": snapshot_interval,
            }.items()
            if v is not None
        }
        settings = kafka_settings(settings_from(clickhouse_url, database).model_copy(update=updates), kafka)
        assert settings.kafka_brokers
        migrated(settings)
        ensure_topics(settings.kafka_brokers, topics.ALL, prefix=settings.kafka_topic_prefix)
        _serve_metrics(metrics_port)
        addr = addresses.split(";") if addresses else None
        total_workers = settings.pipeline_workers * (len(addr) if addr else 1)
        flow = chat.flow(settings, writers=total_workers, on_flush=count_flush)
        out.print(
            f"chat dataflow: Kafka {settings.kafka_brokers} → {settings.clickhouse_url} "
            f"({settings.pipeline_workers} worker(s), recovery in {settings.recovery_dir}/chat)"
        )
        _terminate_like_interrupt()
        try:
            cli_main(
                flow,
                workers_per_process=settings.pipeline_workers,
                process_id=process_id,
                addresses=addr,
                epoch_interval=timedelta(seconds=settings.snapshot_interval_s),
                recovery_config=recovery_config(settings, "chat"),
            )
        except KeyboardInterrupt:
            out.print("stopped; a restart resumes from the last snapshot")

    guard(run)
