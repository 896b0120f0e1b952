"""The ``--discover`` options of ``streamscope up``."""

from __future__ import annotations

from collections.abc import Sequence

from streamscope.app.cli.common import CliError
from streamscope.sources.helix.discovery import DiscoveryFilters, parse_languages


def discovery_filters(
    discover: bool,
    min_viewers: int,
    language: Sequence[str] | None,
    game: Sequence[str] | None,
    max_channels: int,
) -> DiscoveryFilters | None:
    """The filters of ``--discover`` (None without it); a bad language code is a CliError."""
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
        if not (g.isascii() and g.isdigit()):
            raise CliError(f"--game takes Twitch category ids (digits), not {g!r}")
    return DiscoveryFilters(min_viewers, languages, games, max_channels)
