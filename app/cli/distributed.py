"""Distributed-mode processes: ``streamscope source irc|replay`` and what every source shares.

A source process captures and publishes to Kafka (``source helix|eventsub`` are in
:mod:`streamscope.app.cli.api_sources`); a pipeline process (:mod:`streamscope.app.cli.pipelines`) runs one
Bytewax dataflow from Kafka into the warehouse, with recovery. Each can run alone, be killed at any
moment and restarted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from streamscope import topics
from streamscope.app.captures import CaptureLoop, IrcCapture
from streamscope.app.cli.common import CliError, IrcUrl, app, guard, log, out, settings_from
from streamscope.app.runtime import Runtime
from streamscope.metrics import serve_metrics
from streamscope.settings import Settings
from streamscope.sinks.kafka import KafkaPublisher
from streamscope.sources.replay import replay
from streamscope.twitch.logins import normalize_logins

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


def kafka_runtime(kafka: str | None, **flags: object) -> Runtime:
    """A runtime on Kafka for a source process (no dataflows), topics created when missing."""
    runtime = Runtime(kafka_settings(settings_from(None, None, **flags), kafka))
    runtime.prepare_topics()
    return runtime


def finish_publishers(runtime: Runtime, what: str, timeout_s: float = 60) -> None:
    """Wait up to ``timeout_s`` for Kafka to acknowledge what is buffered; a clear error for the rest."""
    left = runtime.close_publishers(timeout_s)
    if left:
        raise CliError(
            f"Kafka did not acknowledge {left} captured {what} within {timeout_s:g}s; they are lost "
            "(check that the brokers are up before stopping a source)"
        )


def delivered(publisher: object) -> int:
    return publisher.delivered if isinstance(publisher, KafkaPublisher) else 0


def serve_metrics_port(port: int | None) -> None:
    if port is not None:
        serve_metrics(port)
        log.info("metrics on http://0.0.0.0:%d/metrics", port)


@source_app.command("irc")
def source_irc_cmd(
    channel: Annotated[
        list[str], typer.Option("--channel", "-c", help="Channel login to capture (repeatable).")
    ],
    kafka: Kafka = None,
    irc_url: IrcUrl = None,
    status_every: Annotated[
        float, typer.Option("--status-every", min=1.0, help="Seconds between progress lines in the log.")
    ] = 30.0,
    metrics_port: MetricsPort = None,
) -> None:  # fmt: skip
    """Capture live chat anonymously (IRC) and publish every raw line to Kafka (twitch.irc.raw).

    Keeps capturing while Kafka is briefly unreachable (a bounded local buffer, then backpressure);
    Ctrl-C or SIGTERM stops capture and waits until Kafka acknowledged everything captured.
    """

    def run() -> None:
        runtime = kafka_runtime(kafka, twitch_irc_url=irc_url)
        settings = runtime.settings
        logins = normalize_logins(channel)
        if not logins:
            raise CliError("give at least one --channel NAME")
        serve_metrics_port(metrics_port)
        publisher = runtime.publisher(topics.IRC_RAW, "irc")
        irc = IrcCapture(settings, logins, publisher.publish)
        out.print(
            f"capturing {', '.join('#' + c for c in logins)} from {settings.twitch_irc_url} "
            f"into Kafka {settings.kafka_brokers}; Ctrl-C stops"
        )

        def progress() -> None:
            log.info("progress: %s, %d delivered to Kafka", irc.progress(), delivered(publisher))

        CaptureLoop([irc]).run(progress, status_every)
        finish_publishers(runtime, "lines")
        out.print(
            f"received {irc.source.stats().lines_received} lines, Kafka acknowledged {delivered(publisher)}"
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

    def run() -> None:
        for f in files:
            if not f.is_file():
                raise CliError(f"{f} is not a readable file; pass recorded raw IRC logs (one line per line).")
        runtime = kafka_runtime(kafka)
        publisher = runtime.publisher(topics.IRC_RAW, "replay")
        started = time.monotonic()
        sent = replay(files, publisher.publish, speed=speed)
        left = runtime.close_publishers(120)
        if left:
            raise CliError(f"Kafka did not acknowledge {left} of {sent} lines within 120s; run it again")
        failed = publisher.failed if isinstance(publisher, KafkaPublisher) else 0
        out.print(
            f"published {sent} lines to {runtime.settings.kafka_brokers} ({failed} refused) "
            f"in {time.monotonic() - started:.1f}s"
        )

    guard(run)
