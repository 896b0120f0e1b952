"""The Helix side of ``streamscope up``: discovery options and the poller start-up message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from streamscope.app.cli.common import CliError, log, out

from streamscope.settings import Settings

if TYPE_CHECKING:
    from streamscope.app.streams_runtime import EventSubCapture, HelixCapture
    from streamscope.sources.helix.discovery import DiscoveryFilters


def discovery_filters(
    discover: bool,
    min_viewers: int,
    language: Sequence[str] | None,
    game: Sequence[str] | None,
    max_channels: int,
) -> DiscoveryFilters | None:
    """The filters of ``--discover`` (None without it); a bad language code is a CliError."""
    from streamscope.sources.helix.discovery import DiscoveryFilters, parse_languages

    if not discover:
        if language or game:
            raise CliError("--language and --game filter --discover; add --discover")
        return None
    try:
        languages = parse_languages(language or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None
    games = tuple(g.strip() for value in game or [] for g in value.split(",") if g.strip())
    for g in games:
        if not g.isdigit():
            raise CliError(f"--game takes Twitch category ids (digits), not {g!r}")
    return DiscoveryFilters(min_viewers, languages, games, max_channels)


def start_helix(
    settings: Settings, logins: Sequence[str], filters: DiscoveryFilters | None
) -> HelixCapture | None:
    """Start the streams dataflow and build the poller/discovery, or say why viewer counts are off."""
    from streamscope.app.streams_runtime import NO_CREDENTIALS, helix_capture

    publisher = None
    if settings.kafka_brokers and settings.twitch_client_id and settings.twitch_client_secret is not None:
        from streamscope.app.cli.distributed import event_publisher

        from streamscope import topics

        publisher = event_publisher(settings, topics.HELIX_STREAMS, "helix")
    capture = helix_capture(settings, logins, filters, publisher)
    if capture is None:
        if filters is not None:
            raise CliError(
                "--discover needs STREAMSCOPE_TWITCH_CLIENT_ID/_CLIENT_SECRET (Helix lists live streams)"
            )
        out.print(NO_CREDENTIALS)
        log.info(NO_CREDENTIALS)
        return None
    what = f"{len(logins)} channel(s)" + (", discovering live channels" if filters is not None else "")
    out.print(
        f"viewer counts from {settings.twitch_helix_url} every {settings.helix_poll_interval_s:g}s for {what}"
    )
    return capture


def start_eventsub(
    settings: Settings, logins: Sequence[str], helix: HelixCapture | None, *, kafka: bool
) -> EventSubCapture | None:
    """EventSub for ``up`` when a user token is set (into Kafka, or the streams dataflow), else a note."""
    from streamscope.app.streams_runtime import NO_USER_TOKEN, eventsub_capture

    if not logins:
        return None
    publisher = None
    if kafka and settings.twitch_client_id and settings.twitch_user_token is not None:
        from streamscope.app.cli.distributed import event_publisher

        from streamscope import topics

        publisher = event_publisher(settings, topics.EVENTSUB_RAW, "eventsub")
    capture = eventsub_capture(
        settings,
        logins,
        streams=helix.streams if helix is not None and not kafka else None,
        publish=publisher.publish if publisher is not None else None,
    )
    if capture is None:
        log.info(NO_USER_TOKEN)
        return None
    capture.publisher = publisher
    out.print(f"EventSub for {len(logins)} channel(s) at {settings.twitch_eventsub_url}")
    return capture
