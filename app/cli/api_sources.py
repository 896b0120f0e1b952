"""``streamscope source helix|eventsub``: the Twitch API sources as their own processes, into Kafka.

``source helix`` polls Helix ``GET /streams`` for the channels (app token by client credentials) and
publishes each answer to ``twitch.helix.streams``; ``source eventsub`` subscribes to stream and chat
events over EventSub (user token) and publishes every notification frame to ``twitch.eventsub.raw``.
``streamscope pipeline streams`` turns both into viewer samples, sessions and chat rows.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from streamscope import topics
from streamscope.app.captures import CaptureLoop, SourceCapture, eventsub_source
from streamscope.app.cli.common import CliError, guard, log, out
from streamscope.app.cli.distributed import (
    Kafka,
    MetricsPort,
    delivered,
    finish_publishers,
    kafka_runtime,
    serve_metrics_port,
    source_app,
)
from streamscope.sources.helix.poller import HelixStreamsPoller
from streamscope.twitch.logins import normalize_logins

Channels = Annotated[list[str], typer.Option("--channel", "-c", help="Channel login (repeatable).")]
StatusEvery = Annotated[
    float, typer.Option("--status-every", min=1.0, help="Seconds between progress lines in the log.")
]


def _logins(channel: list[str]) -> list[str]:
    logins = normalize_logins(channel)
    if not logins:
        raise CliError("give at least one --channel NAME")
    return logins


@source_app.command("helix")
def source_helix_cmd(
    channel: Channels,
    kafka: Kafka = None,
    status_every: StatusEvery = 60.0,
    metrics_port: MetricsPort = None,
) -> None:
    """Poll Helix GET /streams for the channels and publish every answer to Kafka (twitch.helix.streams).

    Needs STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_CLIENT_SECRET; polls every
    STREAMSCOPE_HELIX_POLL_INTERVAL_S seconds within the rate limit the Ratelimit-* headers announce.
    """

    def run() -> None:
        runtime = kafka_runtime(kafka)
        settings = runtime.settings
        logins = _logins(channel)
        if HelixStreamsPoller.credentials_from(settings) is None:
            raise CliError(
                "source helix needs STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_CLIENT_SECRET"
            )
        serve_metrics_port(metrics_port)
        publisher = runtime.publisher(topics.HELIX_STREAMS, "helix")
        poller = HelixStreamsPoller.from_settings(logins, publisher.publish, settings)
        out.print(
            f"polling {len(logins)} channel(s) at {settings.twitch_helix_url} every "
            f"{settings.helix_poll_interval_s:g}s into Kafka {settings.kafka_brokers}; Ctrl-C stops"
        )

        def stats() -> str:
            p = poller.stats()
            return f"{p.channels} channels, {p.requests} requests ({p.rate_limited} x 429)"

        def progress() -> None:
            log.info("progress: %s, %d answers delivered to Kafka", stats(), delivered(publisher))

        CaptureLoop([SourceCapture("helix", poller.run, poller.stop, stats)]).run(progress, status_every)
        finish_publishers(runtime, "Helix answers")
        out.print(f"Kafka acknowledged {delivered(publisher)} answers")

    guard(run)


@source_app.command("eventsub")
def source_eventsub_cmd(
    channel: Channels,
    kafka: Kafka = None,
    status_every: StatusEvery = 60.0,
    metrics_port: MetricsPort = None,
) -> None:
    """Subscribe to the channels' EventSub events and publish every notification to Kafka.

    Topic twitch.eventsub.raw: stream.online/offline, channel.update and, unless
    STREAMSCOPE_EVENTSUB_CHAT=false, chat messages and notifications.

    Needs STREAMSCOPE_TWITCH_CLIENT_ID and a user token with user:read:chat in
    STREAMSCOPE_TWITCH_USER_TOKEN.
    """

    def run() -> None:
        runtime = kafka_runtime(kafka)
        settings = runtime.settings
        logins = _logins(channel)
        if not settings.twitch_client_id or settings.twitch_user_token is None:
            raise CliError(
                "source eventsub needs STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_USER_TOKEN"
            )
        serve_metrics_port(metrics_port)
        publisher = runtime.publisher(topics.EVENTSUB_RAW, "eventsub")
        try:
            source, found = asyncio.run(
                eventsub_source(settings, logins, publisher.publish, chat=settings.eventsub_chat)
            )
        except Exception as exc:  # Helix refused the token, or is unreachable: one sentence
            raise CliError(f"could not look up the channels on Helix: {exc}") from None
        if found.missing:
            out.print(f"unknown channels (skipped): {', '.join(found.missing)}")
        out.print(
            f"EventSub for {len(found.channels)} channel(s) into Kafka {settings.kafka_brokers}; Ctrl-C stops"
        )

        def progress() -> None:
            log.info("progress: %s, %d delivered to Kafka", source.stats(), delivered(publisher))

        capture = SourceCapture("eventsub", source.run, source.stop, lambda: str(source.stats()))
        CaptureLoop([capture]).run(progress, status_every)
        finish_publishers(runtime, "EventSub events")
        out.print(f"Kafka acknowledged {delivered(publisher)} events")

    guard(run)
